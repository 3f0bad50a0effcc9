//! A private, real Zabbix 6.0 stack on 127.0.0.1 for one test: a PostgreSQL
//! cluster (initdb in a temporary directory, run as `postgres`), the Zabbix
//! schema loaded into it, `zabbix_server` (as `zabbix`), the Zabbix
//! frontend's JSON-RPC API under PHP's built-in web server, and a
//! `zabbix_agentd` (as `zabbix`). Every piece has its own data directory and
//! port, and dies with the test (see `Daemon`).

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::engine::{Daemon, first_line_of, missing, wait_for};

/// Where Debian 12's packages put what the stack needs.
const SCHEMA_DIR: &str = "/usr/share/zabbix-server-pgsql";
const FRONTEND_DIR: &str = "/usr/share/zabbix";
/// The frontend reads its database settings from this fixed path (a Debian
/// patch); the private copy of the frontend is pointed elsewhere.
const FRONTEND_CONFIG: &str = "'/etc/zabbix/zabbix.conf.php'";
/// The default super user of a fresh Zabbix database.
const API_USER: &str = "Admin";
const API_PASSWORD: &str = "zabbix";

/// The programs and files the stack is built from.
pub struct Tools {
    pub server: PathBuf,
    pub agent: PathBuf,
    pub php: PathBuf,
    pub psql: PathBuf,
    /// `initdb` and `postgres`.
    pub pg_bin: PathBuf,
    pub zabbix: User,
    pub postgres: User,
}

#[derive(Clone, Copy, Debug)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

pub fn user(name: &str) -> Option<User> {
    let c = std::ffi::CString::new(name).unwrap();
    // SAFETY: getpwnam returns null or a pointer to a static record that we
    // read at once, before any other call could overwrite it.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    (!pw.is_null()).then(|| unsafe {
        User {
            uid: (*pw).pw_uid,
            gid: (*pw).pw_gid,
        }
    })
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// The newest PostgreSQL server installed the Debian way.
fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file())
                .then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

impl Tools {
    /// Everything the stack needs, or None after saying what is missing
    /// (a failure under CI, see `missing`).
    pub fn find(test: &str) -> Option<Tools> {
        const PACKAGES: &str = "apt-get install --no-install-recommends postgresql \
                                zabbix-server-pgsql php-cli php-cgi php-pgsql \
                                zabbix-frontend-php zabbix-agent";
        let need = |what: Option<PathBuf>, name: &str| {
            if what.is_none() {
                missing(test, &format!("{name} is not installed ({PACKAGES})"));
            }
            what
        };
        let server = need(which("zabbix_server"), "zabbix_server")?;
        let agent = need(which("zabbix_agentd"), "zabbix_agentd")?;
        let php = need(which("php"), "php")?;
        let psql = need(which("psql"), "psql")?;
        let pg_bin = need(pg_bin(), "the PostgreSQL server")?;
        need(
            Some(PathBuf::from(SCHEMA_DIR).join("schema.sql.gz")).filter(|p| p.is_file()),
            "the Zabbix PostgreSQL schema",
        )?;
        need(
            Some(PathBuf::from(FRONTEND_DIR).join("api_jsonrpc.php")).filter(|p| p.is_file()),
            "the Zabbix frontend",
        )?;
        let modules = first_line_of(
            Command::new(&php).args(["-r", "echo extension_loaded('pgsql') ? 'pgsql' : 'none';"]),
        );
        if modules != "pgsql" {
            missing(test, &format!("PHP has no pgsql extension ({PACKAGES})"));
            return None;
        }
        if !super::engine::running_as_root() {
            missing(
                test,
                "not root: PostgreSQL runs as postgres and the agent as zabbix",
            );
            return None;
        }
        let (Some(zabbix), Some(postgres)) = (user("zabbix"), user("postgres")) else {
            missing(test, &format!("no zabbix or postgres user ({PACKAGES})"));
            return None;
        };
        Some(Tools {
            server,
            agent,
            php,
            psql,
            pg_bin,
            zabbix,
            postgres,
        })
    }

    /// One line per program the stack drives, with its version.
    pub fn versions(&self) -> Vec<String> {
        vec![
            first_line_of(Command::new(&self.server).arg("--version")),
            first_line_of(Command::new(&self.agent).arg("--version")),
            first_line_of(Command::new(self.pg_bin.join("postgres")).arg("--version")),
            first_line_of(Command::new(&self.php).arg("--version")),
        ]
    }
}

/// A port on 127.0.0.1 that was free a moment ago, below 32768: the Zabbix
/// daemons refuse a ListenPort outside 1024-32767.
pub fn free_port() -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
    (0..2000u64)
        .map(|i| 20000 + ((seed.wrapping_mul(7919) + i * 131) % 12000) as u16)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port in 20000-31999")
}

/// A command run as `user` with an empty environment but PATH.
pub fn as_user(program: &Path, user: User) -> Command {
    let mut cmd = Command::new(program);
    cmd.uid(user.uid)
        .gid(user.gid)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null());
    cmd
}

/// A directory owned by `user`, 0700.
pub fn private_dir(path: &Path, user: User) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path.to_path_buf()
}

/// The last lines of a log, for a failure message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    format!(
        "--- {} (last {lines} lines)\n{}",
        path.display(),
        all[all.len().saturating_sub(lines)..].join("\n")
    )
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL cluster of its own, listening on 127.0.0.1 only, trust
/// authentication (nothing but this test can reach it), holding a loaded
/// Zabbix database.
pub struct Postgres {
    pub port: u16,
    pub log: PathBuf,
    _daemon: Daemon,
}

impl Postgres {
    pub fn start(tools: &Tools, dir: &Path) -> Postgres {
        let home = private_dir(&dir.join("postgres"), tools.postgres);
        let data = home.join("data");
        run_ok(
            as_user(&tools.pg_bin.join("initdb"), tools.postgres)
                .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
                .args(["--locale=C.UTF-8", "--no-sync", "-D"])
                .arg(&data)
                .current_dir(&home),
            "initdb",
        );
        let port = free_port();
        let log = dir.join("postgres.log");
        let daemon = Daemon::start(
            as_user(&tools.pg_bin.join("postgres"), tools.postgres)
                .arg("-D")
                .arg(&data)
                .args(["-c", "listen_addresses=127.0.0.1", "-c"])
                .arg(format!("port={port}"))
                // No Unix socket: nothing outside this test finds the cluster.
                .args(["-c", "unix_socket_directories="])
                // A throw-away cluster: durability only costs time here.
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off"])
                .current_dir(&home),
            &log,
        );
        let pg = Postgres {
            port,
            log,
            _daemon: daemon,
        };
        wait_for(Duration::from_secs(60), || {
            pg.psql(tools, "postgres")
                .args(["-c", "select 1"])
                .output()
                .ok()
                .filter(|o| o.status.success())
        })
        .unwrap_or_else(|| panic!("PostgreSQL did not come up\n{}", tail(&pg.log, 30)));
        run_ok(
            pg.psql(tools, "postgres")
                .args(["-c", "create database zabbix"]),
            "create database",
        );
        pg.load_schema(tools);
        pg
    }

    pub fn psql(&self, tools: &Tools, db: &str) -> Command {
        let mut cmd = Command::new(&tools.psql);
        cmd.env_clear()
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-U", "postgres", "-p", &self.port.to_string(), db]);
        cmd
    }

    /// schema, images and data, as the Zabbix installation guide loads them.
    fn load_schema(&self, tools: &Tools) {
        let mut zcat = Command::new("zcat")
            .args(["schema.sql.gz", "images.sql.gz", "data.sql.gz"])
            .current_dir(SCHEMA_DIR)
            .stdout(Stdio::piped())
            .spawn()
            .expect("zcat");
        let out = self
            .psql(tools, "zabbix")
            .stdin(zcat.stdout.take().unwrap())
            .output()
            .expect("psql");
        assert!(zcat.wait().unwrap().success(), "zcat of the schema failed");
        assert!(
            out.status.success(),
            "loading the Zabbix schema failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `zabbix_server` in the foreground as user zabbix, its sockets, pid and
/// temporary files in its own directory, reading the configuration every
/// second so that API changes reach it at once.
pub struct Server {
    pub port: u16,
    pub log: PathBuf,
    daemon: Daemon,
}

impl Server {
    pub fn start(tools: &Tools, dir: &Path, db_port: u16) -> Server {
        let home = private_dir(&dir.join("server"), tools.zabbix);
        let port = free_port();
        let conf = home.join("zabbix_server.conf");
        std::fs::write(
            &conf,
            format!(
                "LogType=console\nDebugLevel=3\nPidFile={home}/zabbix_server.pid\n\
                 SocketDir={home}\nTmpDir={home}\n\
                 DBHost=127.0.0.1\nDBPort={db_port}\nDBName=zabbix\nDBUser=postgres\n\
                 ListenIP=127.0.0.1\nListenPort={port}\n\
                 CacheUpdateFrequency=1\nHousekeepingFrequency=0\n\
                 StartPollers=1\nStartPollersUnreachable=1\nStartPreprocessors=1\n\
                 StartTrappers=1\nStartPingers=0\nStartDiscoverers=0\nStartHTTPPollers=0\n\
                 StartTimers=1\nStartEscalators=1\nStartAlerters=1\nStartDBSyncers=1\n\
                 StartHistoryPollers=1\nStartLLDProcessors=1\nStartODBCPollers=0\n\
                 StartProxyPollers=0\nStartReportWriters=0\n\
                 Timeout=15\nUnreachablePeriod=3600\nUnreachableDelay=2\n",
                home = home.display()
            ),
        )
        .unwrap();
        let log = dir.join("zabbix_server.log");
        let daemon = Daemon::start(
            as_user(&tools.server, tools.zabbix)
                .arg("-f")
                .arg("-c")
                .arg(&conf)
                .current_dir(&home),
            &log,
        );
        Server { port, log, daemon }
    }

    pub fn assert_running(&mut self) {
        assert!(
            self.daemon.is_running(),
            "zabbix_server exited\n{}",
            tail(&self.log, 40)
        );
    }
}

/// `zabbix_agentd` in the foreground as user zabbix, passive checks only,
/// with `include` (the UserParameter) as its only extra configuration.
pub struct Agent {
    pub port: u16,
    pub log: PathBuf,
    conf: PathBuf,
    home: PathBuf,
    daemon: Option<Daemon>,
}

impl Agent {
    pub fn start(tools: &Tools, dir: &Path, include: &Path) -> Agent {
        let home = private_dir(&dir.join("agent"), tools.zabbix);
        let port = free_port();
        let conf = home.join("zabbix_agentd.conf");
        std::fs::write(
            &conf,
            format!(
                "LogType=console\nPidFile={home}/zabbix_agentd.pid\n\
                 ListenIP=127.0.0.1\nListenPort={port}\nServer=127.0.0.1\nServerActive=\n\
                 Hostname=gklm01\nStartAgents=2\nTimeout=10\nInclude={include}\n",
                home = home.display(),
                include = include.display()
            ),
        )
        .unwrap();
        let mut agent = Agent {
            port,
            log: dir.join("zabbix_agentd.log"),
            conf,
            home,
            daemon: None,
        };
        agent.resume(tools);
        agent
    }

    pub fn stop(&mut self) {
        self.daemon = None;
    }

    /// Start it (again) on the same port.
    pub fn resume(&mut self, tools: &Tools) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = as_user(&tools.agent, tools.zabbix);
        cmd.arg("-f")
            .arg("-c")
            .arg(&self.conf)
            .current_dir(&self.home);
        self.daemon = Some(Daemon::start_logging_to(&mut cmd, log));
        wait_for(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()
        })
        .unwrap_or_else(|| panic!("zabbix_agentd did not listen\n{}", tail(&self.log, 30)));
    }
}

/// The Zabbix frontend, copied so that it reads a private configuration,
/// served by `php -S` on 127.0.0.1.
pub struct Frontend {
    pub url: String,
    pub log: PathBuf,
    _daemon: Daemon,
}

impl Frontend {
    pub fn start(tools: &Tools, dir: &Path, db_port: u16, server_port: u16) -> Frontend {
        let root = dir.join("frontend");
        run_ok(
            Command::new("cp").arg("-a").arg(FRONTEND_DIR).arg(&root),
            "copy the Zabbix frontend",
        );
        let conf = root.join("conf/zabbix.conf.php");
        let class = root.join("include/classes/core/CConfigFile.php");
        let code = std::fs::read_to_string(&class).unwrap();
        assert!(
            code.contains(FRONTEND_CONFIG),
            "{} no longer names {FRONTEND_CONFIG}",
            class.display()
        );
        std::fs::write(
            &class,
            code.replace(FRONTEND_CONFIG, &format!("'{}'", conf.display())),
        )
        .unwrap();
        std::fs::write(
            &conf,
            format!(
                "<?php\n$DB['TYPE'] = 'POSTGRESQL';\n$DB['SERVER'] = '127.0.0.1';\n\
                 $DB['PORT'] = '{db_port}';\n$DB['DATABASE'] = 'zabbix';\n\
                 $DB['USER'] = 'postgres';\n$DB['PASSWORD'] = '';\n$DB['SCHEMA'] = '';\n\
                 $DB['ENCRYPTION'] = false;\n$DB['KEY_FILE'] = '';\n$DB['CERT_FILE'] = '';\n\
                 $DB['CA_FILE'] = '';\n$DB['VERIFY_HOST'] = false;\n$DB['CIPHER_LIST'] = '';\n\
                 $DB['VAULT_URL'] = '';\n$DB['VAULT_DB_PATH'] = '';\n$DB['VAULT_TOKEN'] = '';\n\
                 $DB['DOUBLE_IEEE754'] = true;\n\
                 $ZBX_SERVER = '127.0.0.1';\n$ZBX_SERVER_PORT = '{server_port}';\n\
                 $ZBX_SERVER_NAME = 'check_gklm_backup test';\n\
                 $IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let log = dir.join("php.log");
        let daemon = Daemon::start(
            Command::new(&tools.php)
                .env_clear()
                .args(["-d", "memory_limit=512M", "-d", "max_execution_time=300"])
                .args(["-d", "post_max_size=16M", "-d", "display_errors=stderr"])
                .arg("-S")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-t")
                .arg(&root),
            &log,
        );
        let frontend = Frontend {
            url: format!("http://127.0.0.1:{port}/api_jsonrpc.php"),
            log,
            _daemon: daemon,
        };
        wait_for(Duration::from_secs(60), || {
            frontend.request("apiinfo.version", json!({}), None).ok()
        })
        .unwrap_or_else(|| panic!("the Zabbix API did not answer\n{}", tail(&frontend.log, 30)));
        frontend
    }

    /// One JSON-RPC call; Err is the API's error or the transport's.
    fn request(&self, method: &str, params: Value, auth: Option<&str>) -> Result<Value, String> {
        let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        if let Some(auth) = auth {
            body["auth"] = json!(auth);
        }
        let text = attohttpc::post(&self.url)
            .header("Content-Type", "application/json-rpc")
            .timeout(Duration::from_secs(120))
            .text(body.to_string())
            .send()
            .and_then(|r| r.text())
            .map_err(|e| format!("{method}: {e}"))?;
        let answer: Value =
            serde_json::from_str(&text).map_err(|e| format!("{method}: not JSON ({e}): {text}"))?;
        match answer.get("result") {
            Some(result) => Ok(result.clone()),
            None => Err(format!("{method}: {}", answer["error"])),
        }
    }

    /// Log in as the default super user; the session id stays in `Api`.
    pub fn login(&self) -> Api<'_> {
        let token = self
            .request(
                "user.login",
                json!({"username": API_USER, "password": API_PASSWORD}),
                None,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        Api {
            frontend: self,
            token: token.as_str().expect("session id").to_string(),
        }
    }

    pub fn version(&self) -> String {
        self.request("apiinfo.version", json!({}), None)
            .map(|v| v.as_str().unwrap_or("?").to_string())
            .unwrap_or_else(|e| e)
    }
}

/// A logged-in API session. The session id is never printed: errors show
/// the method and the API's message only.
pub struct Api<'a> {
    frontend: &'a Frontend,
    token: String,
}

impl Api<'_> {
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.frontend
            .request(method, params, Some(&self.token))
            .unwrap_or_else(|e| panic!("Zabbix API {e}"))
    }

    /// Whether this session's id or the API password shows in `text`.
    pub fn leaks_into(&self, text: &str) -> bool {
        text.contains(&self.token) || text.contains(&format!("\"{API_PASSWORD}\""))
    }
}

impl Drop for Api<'_> {
    fn drop(&mut self) {
        let _ = self
            .frontend
            .request("user.logout", json!([]), Some(&self.token));
    }
}
