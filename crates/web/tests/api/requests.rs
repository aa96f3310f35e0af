//! The edge of every request: body size limits, and rejections that say what to send.

use reqwest::StatusCode;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn a_50_mb_json_body_answers_413_problem_json() {
    let t = spawn_app().await;
    let name = "a".repeat(50 * 1024 * 1024);
    let body = format!(r#"{{"phone":"+919876543210","name":"{name}"}}"#);
    let response = t
        .client
        .post(t.url(&format!("/api/v1/orgs/{}/users", t.org)))
        .bearer_auth(&t.admin)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(
        body["detail"].as_str().unwrap().contains("1024 KiB"),
        "{body}"
    );
}

#[tokio::test]
async fn a_chunked_json_body_over_the_limit_answers_413() {
    let t = spawn_app().await;
    // No Content-Length: the limit holds while reading, chunk by chunk.
    let address = t.base.trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let head = "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
        stream.write_all(head.as_bytes()).unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
        for _ in 0..40 {
            if stream.write_all(chunk.as_bytes()).is_err() {
                break; // the server answered and closed: fine
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_mistyped_json_field_is_named_and_described_without_rust_types() {
    let t = spawn_app().await;
    let tokens = format!("/api/v1/orgs/{}/tokens", t.org);
    let users = format!("/api/v1/orgs/{}/users", t.org);
    for (path, body, field, reason) in [
        (
            &tokens,
            serde_json::json!({"expires_in_days": "ten"}),
            "expires_in_days",
            "must be a whole number",
        ),
        (&users, serde_json::json!(3), "body", "must be an object"),
        (
            &users,
            serde_json::json!({"name": "Ada"}),
            "phone",
            "is required",
        ),
        (
            &users,
            serde_json::json!({"phone": 919876543210u64, "name": "Ada"}),
            "phone",
            "must be text",
        ),
    ] {
        let response = t.send("POST", path, &t.admin, body.clone()).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let text = problem.to_string();
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {text}");
        let got = problem["errors"][0]["reason"].as_str().unwrap();
        assert!(got.starts_with(reason), "{body}: {text}");
        for rust in ["struct", "u32", "u64", "String", "expected"] {
            assert!(!text.contains(rust), "{body}: {text}");
        }
    }
}

#[tokio::test]
async fn malformed_json_is_a_400_and_a_bad_query_number_names_the_parameter() {
    let t = spawn_app().await;
    let response = t
        .client
        .post(t.url(&format!("/api/v1/orgs/{}/users", t.org)))
        .bearer_auth(&t.admin)
        .header("content-type", "application/json")
        .body("{\"phone\": ")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST).await;
    let response = t
        .get(
            &format!("/api/v1/orgs/{}/imports?limit=ten", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "limit", "{body}");
    assert_eq!(
        body["errors"][0]["reason"], "must be a whole number",
        "{body}"
    );
    let response = t
        .get(
            &format!("/api/v1/orgs/{}/imports?limit=99999999999", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "limit", "{body}");
    assert_eq!(body["errors"][0]["reason"], "is out of range", "{body}");
}
