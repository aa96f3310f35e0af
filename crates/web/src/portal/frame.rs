//! The frame around every page: its title and the navigation, named with the seed's
//! words and showing only what the signed-in role may use.

use steward_app::Caller;
use steward_domain::OrgId;
use steward_domain::access::{Action, AdminTask};

/// What every page template holds: the title, the navigation (none on sign-in and
/// error pages) and the session's CSRF token for its forms.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub title: String,
    pub nav: Option<Nav>,
    pub csrf: String,
}

/// The part of the portal a page belongs to, to mark its navigation link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Users,
    Groups,
    Reports,
    Connectors,
    Actions,
    Imports,
    Exports,
    Settings,
    /// A page of no section (an error page).
    Other,
}

#[derive(Clone, Debug)]
pub(crate) struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Nav {
    pub org_name: String,
    pub who: String,
    /// What the person is in this org, in the seed's words.
    pub role: &'static str,
    pub items: Vec<NavItem>,
}

impl Nav {
    pub fn for_caller(
        caller: &Caller,
        org: OrgId,
        org_name: &str,
        who: String,
        section: Section,
    ) -> Nav {
        let base = format!("/portal/orgs/{org}");
        let mut items = Vec::new();
        let mut add = |label, path: &str, of: Section| {
            items.push(NavItem {
                label,
                href: format!("{base}{path}"),
                current: of == section,
            })
        };
        let org_admin = caller.is_org_admin();
        let group_admin = !caller.actor().admin_of.is_empty();
        if caller.may(&Action::ViewUsers) {
            add("Users", "/users", Section::Users);
        }
        add(
            if org_admin { "Groups" } else { "My groups" },
            "/groups",
            Section::Groups,
        );
        if org_admin || group_admin {
            add("Reports", "/reports", Section::Reports);
        }
        add("Connectors", "/connectors", Section::Connectors);
        add("Actions", "/actions", Section::Actions);
        if caller.may(&Action::OrgAdminOnly(AdminTask::ImportUsers)) {
            add("Upload Users History", "/imports", Section::Imports);
        }
        if caller.may(&Action::OrgAdminOnly(AdminTask::ExportUsers)) {
            add("Export History", "/exports", Section::Exports);
        }
        if org_admin || group_admin {
            add("Settings", "/settings", Section::Settings);
        }
        let role = if org_admin {
            "Organization admin"
        } else if group_admin {
            "Group admin"
        } else {
            "Member"
        };
        Nav {
            org_name: org_name.to_owned(),
            who,
            role,
            items,
        }
    }
}
