//! The monitored GKLM: host, port, path prefix and user, validated once, and
//! the key that names its state file. Never touches the network: a host that
//! is not a DNS name or an IP address is refused here, before anything is
//! sent, so no malformed value can reach the HTTP or TLS layers.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A GKLM host as the user wrote it, proven to be a DNS name or an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An ASCII DNS name, lower-cased (DNS and certificates ignore case).
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// Why a `-H` value was refused; the message says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError {
    given: String,
    hint: &'static str,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid -H/--hostname '{}': {}",
            self.given.escape_debug(),
            self.hint
        )
    }
}

impl std::error::Error for HostError {}

/// 0.0.0.0 and :: mean "any address" to a server; as a destination they
/// reach whatever listens locally, which is never what a user meant.
const UNSPECIFIED: &str = "0.0.0.0 and :: name no host; give GKLM's name or address";

/// Longest DNS name (RFC 1035), without a trailing dot.
const NAME_MAX: usize = 253;
const LABEL_MAX: usize = 63;

impl Host {
    pub fn parse(given: &str) -> Result<Host, HostError> {
        let refuse = |hint| {
            Err(HostError {
                given: given.to_string(),
                hint,
            })
        };
        if given.is_empty() {
            return refuse("empty; give a host name or an IP address");
        }
        if given.contains("://") {
            return refuse("give the host name alone, without https:// (the port goes in -p)");
        }
        if let Some(inner) = given.strip_prefix('[') {
            return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
                Some(Ok(v6)) if v6.is_unspecified() => refuse(UNSPECIFIED),
                Some(Ok(v6)) => Ok(Host::V6(v6)),
                _ if inner.contains("]:") => refuse("give the port with -p, not in -H"),
                _ => refuse("not an IPv6 address in brackets"),
            };
        }
        if given.contains(':') {
            return match given.parse::<Ipv6Addr>() {
                Ok(v6) if v6.is_unspecified() => refuse(UNSPECIFIED),
                Ok(v6) => Ok(Host::V6(v6)),
                Err(_) if given.contains('%') => {
                    refuse("IPv6 zone ids (%eth0) are not supported; use a global address")
                }
                Err(_) if given.matches(':').count() == 1 => {
                    refuse("give the port with -p, not in -H")
                }
                Err(_) => refuse("not a valid IPv6 address"),
            };
        }
        if let Ok(v4) = given.parse::<Ipv4Addr>() {
            return if v4.is_unspecified() {
                refuse(UNSPECIFIED)
            } else {
                Ok(Host::V4(v4))
            };
        }
        if let Some(hint) = name_problem(given) {
            return refuse(hint);
        }
        let host = Host::Name(given.to_ascii_lowercase());
        host.check_url()?;
        Ok(host)
    }

    /// Whether the URL layer accepts this host: the parser that will build
    /// every request is asked once here, so a name it refuses (an invalid
    /// `xn--` label, say) is a usage error rather than a failure later.
    pub fn check_url(&self) -> Result<(), HostError> {
        let url = format!("https://{}:9443/", self.url_form());
        match attohttpc::RequestBuilder::try_new(attohttpc::Method::GET, url) {
            Ok(_) => Ok(()),
            Err(_) => Err(HostError {
                given: self.to_string(),
                hint: "not a valid host name for a URL (check any xn-- label)",
            }),
        }
    }

    /// The host as it appears in a URL: IPv6 in brackets.
    pub fn url_form(&self) -> String {
        match self {
            Host::V6(v6) => format!("[{v6}]"),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::V4(v4) => v4.fmt(f),
            Host::V6(v6) => v6.fmt(f),
        }
    }
}

/// Why `name` is not a DNS name, if it is not. Underscores are allowed (some
/// internal names have them); a numeric last label is not, because URL
/// parsers read `1.2.3` or `0x7f.1` as an IPv4 address in another spelling.
fn name_problem(name: &str) -> Option<&'static str> {
    if let Some(c) = name.chars().find(|c| !c.is_ascii()) {
        let _ = c;
        return Some("non-ASCII names are not supported; give the ASCII (xn--) form");
    }
    if name.contains(['/', '?', '#']) {
        return Some("give the host name alone, without a path or query");
    }
    if name.contains('@') {
        return Some("give the host name alone; the user goes in -u");
    }
    if name
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Some("host names contain no spaces or control characters");
    }
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() || bare.len() > NAME_MAX {
        return Some("a host name has 1 to 253 characters");
    }
    let labels_ok = bare.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= LABEL_MAX
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !labels_ok {
        return Some(
            "expected a DNS name (letters, digits, '-' and '_' between dots) or an IP address",
        );
    }
    let last = bare.rsplit('.').next().unwrap_or(bare);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.len() > 2 && last[..2].eq_ignore_ascii_case("0x"));
    if numeric {
        return Some("not a valid IPv4 address (expected four numbers 0-255, as 192.0.2.10)");
    }
    None
}

/// Which GKLM path prefix to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prefix {
    /// Try `/SKLM`, then `/GKLM`, and remember which answered.
    Auto,
    Fixed(String),
}

impl Prefix {
    /// A fixed prefix such as `/SKLM`: the one rule for what may be sent as
    /// a path prefix and kept in the state file.
    pub fn fixed(text: &str) -> Option<String> {
        let trimmed = text.trim_end_matches('/');
        let valid = trimmed.starts_with('/')
            && trimmed.len() > 1
            && trimmed.len() < 100
            && trimmed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
            && !trimmed.split('/').any(|part| part == "." || part == "..");
        valid.then(|| trimmed.to_string())
    }
}

/// Everything that identifies one monitored target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: Host,
    pub port: u16,
    pub prefix: Prefix,
    /// The GKLM user, or None when an existing session id is used.
    pub user: Option<String>,
}

impl Target {
    /// What names the target in its state file: not the thresholds (tuned
    /// without wanting to lose history) and not the mode (all modes of one
    /// target share one file and one session).
    pub fn key(&self) -> String {
        let prefix = match &self.prefix {
            Prefix::Auto => "auto",
            Prefix::Fixed(p) => p,
        };
        let who = self.user.as_deref().unwrap_or("(session id)");
        format!("{}:{} {prefix} {who}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_are_accepted() {
        assert_eq!(
            Host::parse("GKLM.example.com").unwrap().to_string(),
            "gklm.example.com"
        );
        assert_eq!(Host::parse("gklm.").unwrap().to_string(), "gklm.");
        assert_eq!(
            Host::parse("key_server-1").unwrap().to_string(),
            "key_server-1"
        );
        assert_eq!(
            Host::parse("192.0.2.10").unwrap(),
            Host::V4(Ipv4Addr::new(192, 0, 2, 10))
        );
        assert_eq!(Host::parse("::1").unwrap().url_form(), "[::1]");
        assert_eq!(Host::parse("[::1]").unwrap(), Host::parse("::1").unwrap());
        assert_eq!(
            Host::parse("[2001:db8::1]").unwrap().to_string(),
            "2001:db8::1"
        );
    }

    #[test]
    fn everything_else_is_refused_with_a_hint() {
        for (given, hint) in [
            ("host:9443", "-p"),
            ("[::1]:9443", "-p"),
            ("https://host", "https://"),
            ("host/x", "path"),
            ("host?x", "path"),
            ("host#x", "path"),
            ("user@host", "-u"),
            (" host", "spaces"),
            ("a b", "spaces"),
            ("", "empty"),
            ("1.2.3", "IPv4"),
            ("256.1.1.1", "IPv4"),
            ("0x7f.1", "IPv4"),
            ("-host", "DNS name"),
            ("a..b", "DNS name"),
            ("fe80::1%eth0", "zone"),
            ("gkl\u{e9}m", "xn--"),
            ("[::1", "brackets"),
            ("xn--zz.example", "xn--"),
            ("0.0.0.0", "name no host"),
            ("::", "name no host"),
            ("[::]", "name no host"),
        ] {
            let err = Host::parse(given).expect_err(given).to_string();
            assert!(err.contains(hint), "{given:?}: {err}");
        }
    }

    #[test]
    fn prefixes_are_paths_without_dot_segments() {
        assert_eq!(Prefix::fixed("/GKLM/").as_deref(), Some("/GKLM"));
        assert_eq!(Prefix::fixed("/a/b").as_deref(), Some("/a/b"));
        for bad in ["SKLM", "/", "/a b", "/../x", "/a/./b", "/a?b"] {
            assert_eq!(Prefix::fixed(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_key_ignores_case_of_the_host() {
        let target = |h: &str| Target {
            host: Host::parse(h).unwrap(),
            port: 9443,
            prefix: Prefix::Auto,
            user: Some("mon".into()),
        };
        assert_eq!(target("GKLM").key(), target("gklm").key());
        assert_eq!(target("gklm").key(), "gklm:9443 auto mon");
    }
}
