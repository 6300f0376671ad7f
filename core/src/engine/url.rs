//! Database URLs: `scheme://user:password@host:port/database?key=value`.

use std::fmt;

use crate::{Error, Result};

/// A parsed database URL. Its `Debug` and `Display` never show the password.
///
/// ```
/// use strata_core::engine::DatabaseUrl;
/// let u = DatabaseUrl::parse("postgresql://scott:tiger@localhost:5432/test?sslmode=disable").unwrap();
/// assert_eq!(u.scheme, "postgresql");
/// assert_eq!(u.password.as_deref(), Some("tiger"));
/// assert_eq!(u.to_string(), "postgresql://scott:***@localhost:5432/test?sslmode=disable");
/// assert!(DatabaseUrl::parse("not a url").is_err());
/// let s = DatabaseUrl::parse("sqlite:////tmp/x.db").unwrap();
/// assert_eq!(s.database, "/tmp/x.db");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// The scheme (`sqlite`, `postgresql`, `mysql`, ...), lowercased, without a `+driver`.
    pub scheme: String,
    /// The user name, percent-decoded.
    pub username: Option<String>,
    /// The password, percent-decoded.
    pub password: Option<String>,
    /// The host.
    pub host: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The database name (for SQLite, the file path; empty for in-memory).
    pub database: String,
    /// The query parameters, in order.
    pub query: Vec<(String, String)>,
}

fn decode(s: &str, what: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return Err(Error::Url(format!("bad percent-escape in the {what}"))),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| {
        Error::Url(format!(
            "the {what} is not valid UTF-8 after percent-decoding"
        ))
    })
}

impl DatabaseUrl {
    /// Parse a URL. Errors say what is wrong without repeating the password.
    pub fn parse(url: &str) -> Result<DatabaseUrl> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::Url("expected scheme://..., e.g. sqlite:// or postgresql://host/db".into())
        })?;
        let scheme = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::Url(
                "the scheme must be a name such as sqlite or postgresql".into(),
            ));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, q),
            None => (rest, ""),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(ui) => match ui.split_once(':') {
                Some((u, p)) => (Some(decode(u, "user name")?), Some(decode(p, "password")?)),
                None => (Some(decode(ui, "user name")?), None),
            },
        };
        let (host, port) = if hostport.is_empty() {
            (None, None)
        } else if let Some(h) = hostport.strip_prefix('[') {
            // [ipv6]:port
            let (h, p) = h
                .split_once(']')
                .ok_or_else(|| Error::Url("unclosed [ in the host".into()))?;
            let port = match p.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().map_err(|_| {
                    Error::Url(format!("port {p:?} is not a number from 0 to 65535"))
                })?),
                None => None,
            };
            (Some(h.to_string()), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => {
                    let port = p.parse::<u16>().map_err(|_| {
                        Error::Url(format!("port {p:?} is not a number from 0 to 65535"))
                    })?;
                    (Some(h.to_string()), Some(port))
                }
                None => (Some(hostport.to_string()), None),
            }
        };
        let mut params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((decode(k, "query")?, decode(v, "query")?));
        }
        Ok(DatabaseUrl {
            scheme,
            username,
            password,
            host,
            port,
            database: decode(path, "database name")?,
            query: params,
        })
    }

    /// The value of query parameter `key`, if given.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some(u) = &self.username {
            f.write_str(u)?;
            if self.password.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        if let Some(h) = &self.host {
            if h.contains(':') {
                write!(f, "[{h}]")?;
            } else {
                f.write_str(h)?;
            }
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if !self.database.is_empty() || self.host.is_none() {
            write!(f, "/{}", self.database)?;
        }
        for (i, (k, v)) in self.query.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}
