//! The `goalgraph` binary as an operator runs it: each test in a fresh
//! working directory, with the environment cleared of goalgraph settings,
//! so the embedded defaults (SQLite and a key in `./data`) apply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_goalgraph");
/// How long a server may take to print what a test waits for.
const STARTUP: Duration = Duration::from_secs(60);

/// `goalgraph ARGS` in `dir`, with no goalgraph settings from the
/// environment of the test run.
fn goalgraph(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env_remove("DATABASE_URL").env_remove("RUST_LOG");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GOALGRAPH_") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs a command to completion and returns its output, failing on a
/// non-zero exit.
fn run(dir: &Path, args: &[&str]) -> Output {
    let output = goalgraph(dir, args).output().unwrap();
    assert!(
        output.status.success(),
        "goalgraph {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A running `goalgraph serve`: its stdout line by line, killed if the
/// test ends early.
struct Server {
    child: Option<Child>,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: std::path::PathBuf,
}

impl Server {
    fn spawn(dir: &Path, args: &[&str]) -> Self {
        Self::spawn_with(dir, args, &[])
    }

    /// `spawn` with these environment variables set.
    fn spawn_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let stderr = dir.join("server.stderr");
        let mut child = goalgraph(dir, args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child: Some(child), lines, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The next stdout line, waiting until `deadline`.
    async fn next_line(&mut self, deadline: Instant) -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the server's stdout ended; stderr:\n{}", self.stderr()),
            Err(_) => panic!("no line from the server in time; stderr:\n{}", self.stderr()),
        }
    }

    /// Reads lines until one satisfies `want`; returns it.
    async fn line_where(&mut self, deadline: Instant, want: impl Fn(&str) -> bool) -> String {
        loop {
            let line = self.next_line(deadline).await;
            if want(&line) {
                return line;
            }
        }
    }

    /// The base URL from `goalgraph is listening on http://ADDR`.
    async fn listening(&mut self, deadline: Instant) -> String {
        let line = self.line_where(deadline, |l| l.starts_with("goalgraph is listening on ")).await;
        let url = line.trim_start_matches("goalgraph is listening on ").trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        assert!(!url.ends_with(":0"), "the real port is printed: {line}");
        url
    }

    /// Sends SIGTERM and waits for the process to end.
    async fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(status)) => status.unwrap(),
            _ => panic!("the server did not exit after SIGTERM; stderr:\n{}", self.stderr()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn post(base: &str, token: &str, query: &str) -> (reqwest::StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn claims(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    assert!(parts.iter().all(|p| !p.is_empty()), "{token}");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

#[test]
fn help_lists_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run(dir.path(), &["--help"]));
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in ["serve", "migrate", "token", "org", "encryption"] {
        assert!(commands.contains(&command), "{command} missing from --help:\n{help}");
    }
    assert!(!dir.path().join("data").exists(), "--help touches nothing");
}

/// `serve --demo` in `dir`: the server, its base URL and the admin token it printed.
async fn serve_demo(dir: &Path) -> (Server, String, String) {
    let mut server = Server::spawn(dir, &["serve", "--demo", "--bind", "127.0.0.1:0"]);
    let deadline = Instant::now() + STARTUP;
    let base = server.listening(deadline).await;
    server.line_where(deadline, |l| l.trim_end().ends_with("token (valid 12 h):")).await;
    let token = server.next_line(deadline).await.trim().to_owned();
    (server, base, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_starts_from_nothing_and_prints_a_working_token() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base, token) = serve_demo(dir.path()).await;
    let claims = claims(&token);
    assert_eq!(claims["sub"], "admin@demo.example");
    assert_eq!(claims["org"], "demo");

    assert!(dir.path().join("data/goalgraph.db").is_file(), "the embedded database is created");
    assert!(dir.path().join("data/jwt-private.pem").is_file(), "the signing key is created");

    let (status, body) = post(&base, &token, "{ viewer { name } organization { name } }").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["data"]["viewer"]["name"], "Ada Admin", "{body}");
    assert_eq!(body["data"]["organization"]["name"], "Demo Corp", "{body}");
    // Negative control: the printed token is what made it work.
    let (status, _) = post(&base, &format!("{token}x"), "{ viewer { name } }").await;
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);

    let status = server.terminate().await;
    assert!(status.success(), "a graceful shutdown on SIGTERM exits 0, not {status}");
}

/// Requests served before anyone scraped `/metrics` count too: the
/// recorder must be installed when the server starts, not on first scrape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::spawn(dir.path(), &["serve", "--bind", "127.0.0.1:0"]);
    let base = server.listening(Instant::now() + STARTUP).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
    let first = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let second = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let healthz = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("goalgraph_http_requests_total{") && l.contains("route=\"/healthz\""))
            .map(str::to_owned)
    };
    // Positive control: by the second scrape, the first one is counted.
    assert!(second.contains("goalgraph_http_requests_total{"), "{second}");
    let counted = healthz(&first);
    assert!(
        counted.as_deref().is_some_and(|l| l.ends_with(" 3")),
        "three /healthz requests before the first scrape, counted: {counted:?}\n{first}"
    );
    server.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_create_token_and_migrate_status() {
    let dir = tempfile::tempdir().unwrap();
    let created = stdout(&run(
        dir.path(),
        &["org", "create", "--name", "Acme Corp", "--admin-email", "boss@acme.example"],
    ));
    assert!(created.contains("Acme Corp"), "{created}");
    assert!(dir.path().join("data/goalgraph.db").is_file());

    let token = stdout(&run(dir.path(), &["token", "--email", "boss@acme.example"])).trim().to_owned();
    assert_eq!(token.lines().count(), 1, "only the token on stdout: {token}");
    let claims = claims(&token);
    assert_eq!(claims["sub"], "boss@acme.example");
    assert_eq!(claims["iss"], "goalgraph");

    // Negative control: no such person, no token.
    let unknown = goalgraph(dir.path(), &["token", "--email", "nobody@acme.example"]).output().unwrap();
    assert!(!unknown.status.success());
    assert!(unknown.stdout.is_empty(), "{}", String::from_utf8_lossy(&unknown.stdout));

    let status = stdout(&run(dir.path(), &["migrate", "status"]));
    let lines: Vec<&str> = status.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "migrate status lists the migrations: {status}");
    assert!(lines.iter().all(|l| l.starts_with("applied")), "every migration applied: {status}");
    assert!(lines.iter().any(|l| l.contains("organization_structure")), "{status}");

    // The token works against a server on the same data directory.
    let mut server = Server::spawn(dir.path(), &["serve", "--bind", "127.0.0.1:0"]);
    let base = server.listening(Instant::now() + STARTUP).await;
    let (status, body) = post(&base, &token, "{ viewer { name email } organization { name } }").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["data"]["viewer"]["email"], "boss@acme.example", "{body}");
    assert_eq!(body["data"]["viewer"]["name"], "boss", "{body}");
    assert_eq!(body["data"]["organization"]["name"], "Acme Corp", "{body}");
    server.terminate().await;
}

#[test]
fn migrate_status_on_a_fresh_directory_lists_pending_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let status = stdout(&run(dir.path(), &["migrate", "status"]));
    assert!(status.lines().any(|l| l.starts_with("pending")), "{status}");
    assert!(!status.lines().any(|l| l.starts_with("applied")), "{status}");
    // Positive control: `migrate` (up) applies them.
    run(dir.path(), &["migrate"]);
    let status = stdout(&run(dir.path(), &["migrate", "status"]));
    assert!(status.lines().any(|l| l.starts_with("applied")), "{status}");
    assert!(!status.lines().any(|l| l.starts_with("pending")), "{status}");
}

/// An operator turns encryption on for data written without it: `status`
/// shows the plain values, `rotate` seals them under the new key, `status`
/// then counts them under it, and the server reads them back with the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encryption_status_and_rotate_seal_what_was_written_in_plain_text() {
    const NOTE: &str = "cli check-in note 5e1d";
    let dir = tempfile::tempdir().unwrap();
    let (server, base, token) = serve_demo(dir.path()).await;
    let (_, body) = post(
        &base,
        &token,
        "{ objectives(first: 50, filter: { status: ACTIVE }) { edges { node { keyResults { id } } } } }",
    )
    .await;
    let kr = body["data"]["objectives"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["node"]["keyResults"][0]["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("a key result in the demo data: {body}"));
    let check_in = format!(
        "mutation {{ checkIn(input: {{ keyResultId: \"{kr}\", value: 1, note: \"{NOTE}\" }}) {{ checkIn {{ id }} }} }}"
    );
    let (status, body) = post(&base, &token, &check_in).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let check_in_id =
        body["data"]["checkIn"]["checkIn"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    server.terminate().await;

    let keys = goalgraph_persistence::Keyring::generate("k1");
    let with_key = |args: &[&str]| {
        let output = goalgraph(dir.path(), args).env("GOALGRAPH_ENCRYPTION_KEYS", &keys).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        stdout(&output)
    };
    let count = |status: &str, place: &str, key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols.len() == 3 && cols[0] == place && cols[1] == key).then(|| cols[2].parse().unwrap())
            })
            .unwrap_or(0)
    };
    let before = with_key(&["encryption", "status"]);
    assert!(before.starts_with("current key: k1"), "{before}");
    // The demo's notes and descriptions and the one written above, all plain.
    let notes = count(&before, "check_ins.note", "plain");
    let descriptions = count(&before, "objectives.description", "plain");
    assert!(notes >= 1 && descriptions >= 1, "{before}");
    assert_eq!(count(&before, "check_ins.note", "k1"), 0, "{before}");

    let rotated = with_key(&["encryption", "rotate"]);
    for (place, n) in [("check_ins.note", notes), ("objectives.description", descriptions)] {
        assert!(rotated.contains(&format!("re-sealed {n} values of {place} under key k1")), "{rotated}");
        assert_eq!(count(&rotated, place, "k1"), n, "{rotated}");
        assert_eq!(count(&rotated, place, "plain"), 0, "{rotated}");
    }
    // Audit rows keep what they were written with.
    assert_eq!(
        count(&rotated, "audit_events", "plain"),
        count(&before, "audit_events", "plain"),
        "{rotated}"
    );
    // Without the key the same status warns that sealed values cannot be read.
    let keyless = stdout(&run(dir.path(), &["encryption", "status"]));
    assert!(keyless.contains("warning: values sealed under k1 cannot be read"), "{keyless}");
    // Rotating needs a key.
    let refused = goalgraph(dir.path(), &["encryption", "rotate"]).output().unwrap();
    assert!(!refused.status.success());

    // The server with the key reads the note as it was written.
    let mut server = Server::spawn_with(
        dir.path(),
        &["serve", "--bind", "127.0.0.1:0"],
        &[("GOALGRAPH_ENCRYPTION_KEYS", &keys)],
    );
    let base = server.listening(Instant::now() + STARTUP).await;
    let token = stdout(&run(dir.path(), &["token", "--email", "admin@demo.example"])).trim().to_owned();
    let read = format!("{{ node(id: \"{check_in_id}\") {{ ... on CheckIn {{ note }} }} }}");
    let (_, body) = post(&base, &token, &read).await;
    assert_eq!(body["data"]["node"]["note"], NOTE, "{body}");
    server.terminate().await;
}
