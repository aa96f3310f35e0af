// Progressive enhancement only: a page marked data-refresh (the import history while a
// job runs) reloads itself every few seconds. Without JavaScript, use its Refresh link.
(function () {
  var marked = document.querySelector("[data-refresh]");
  if (marked) {
    var seconds = parseInt(marked.getAttribute("data-refresh"), 10) || 3;
    setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
