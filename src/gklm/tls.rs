//! Which server certificates the check trusts, and how to make that cheap.

use std::fmt;
use std::path::{Path, PathBuf};

use attohttpc::RequestBuilder;
use native_tls::Certificate;

use crate::gklm::credentials::{LOCAL_FILE_MAX, LocalFileError, read_bounded};

/// How the server certificate is verified.
pub enum Trust {
    /// The operating system's trust store (the default).
    System,
    /// `--cacert`: the certificates of this PEM file, and nothing else (as
    /// curl's `--cacert`); the system's CAs are not consulted.
    CaFile(Vec<Certificate>),
    /// `--insecure`: no verification at all.
    Insecure,
}

/// Why a `--cacert` file cannot be used.
#[derive(Debug)]
pub enum CaFileError {
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    BadCertificate {
        path: PathBuf,
        error: native_tls::Error,
    },
    NoCertificate {
        path: PathBuf,
    },
    TooLarge {
        path: PathBuf,
    },
}

impl fmt::Display for CaFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaFileError::Unreadable { path, error } => {
                write!(f, "cannot read --cacert file {}: {error}", path.display())
            }
            CaFileError::BadCertificate { path, error } => write!(
                f,
                "--cacert file {} holds an unreadable certificate: {error}",
                path.display()
            ),
            CaFileError::TooLarge { path } => write!(
                f,
                "--cacert file {} is larger than {} KiB; is it the right file?",
                path.display(),
                LOCAL_FILE_MAX / 1024
            ),
            CaFileError::NoCertificate { path } => {
                write!(
                    f,
                    "--cacert file {} holds no PEM certificate",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for CaFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaFileError::Unreadable { error, .. } => Some(error),
            CaFileError::BadCertificate { error, .. } => Some(error),
            CaFileError::NoCertificate { .. } | CaFileError::TooLarge { .. } => None,
        }
    }
}

impl Trust {
    /// Read a PEM file holding one or more certificates (a CA, a chain, or the
    /// server's own self-signed certificate).
    pub fn from_ca_file(path: &Path) -> Result<Trust, CaFileError> {
        let pem = read_bounded(path).map_err(|e| match e {
            LocalFileError::TooLarge => CaFileError::TooLarge {
                path: path.to_path_buf(),
            },
            LocalFileError::Io(error) => CaFileError::Unreadable {
                path: path.to_path_buf(),
                error,
            },
        })?;
        let text = String::from_utf8_lossy(&pem);
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        let certs = text
            .match_indices(BEGIN)
            .map(|(start, _)| &text[start..])
            .map(|block| Certificate::from_pem(block.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| CaFileError::BadCertificate {
                path: path.to_path_buf(),
                error,
            })?;
        if certs.is_empty() {
            return Err(CaFileError::NoCertificate {
                path: path.to_path_buf(),
            });
        }
        Ok(Trust::CaFile(certs))
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Trust::System => "verifying the server certificate against the system trust store",
            Trust::CaFile(_) => {
                "verifying the server certificate against --cacert only (not the system trust store)"
            }
            Trust::Insecure => "NOT verifying the server certificate (--insecure)",
        }
    }

    pub fn apply(&self, builder: RequestBuilder) -> RequestBuilder {
        match self {
            Trust::System => builder,
            // disable_built_in_roots comes from our attohttpc patch
            // (vendor/README.md): without it native-tls always adds the
            // system's certificate directories beside the file.
            Trust::CaFile(certs) => certs
                .iter()
                .fold(builder.disable_built_in_roots(true), |b, cert| {
                    b.add_root_certificate(cert.clone())
                }),
            Trust::Insecure => builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true),
        }
    }
}

/// What OpenSSL will read from the environment, as the process found it
/// (read with the rest of the environment, in `settings::Environment`).
#[derive(Clone, Debug, Default)]
pub struct OpensslEnv {
    /// `SSL_CERT_FILE` is set: the operator's bundle decides trust.
    pub cert_file_set: bool,
    /// `SSL_CERT_DIR`.
    pub cert_dir: Option<std::path::PathBuf>,
}

/// native-tls (OpenSSL) parses the whole CA bundle named by `SSL_CERT_FILE`
/// (or the system default, a few hundred certificates) every time a TLS
/// connector is built: about 70 ms of CPU, far more than the rest of a check.
/// OpenSSL can instead look an issuer up lazily in a hashed certificate
/// directory, reading one file per handshake. So point `SSL_CERT_FILE` at an
/// empty file whenever the bundle is not what decides trust:
/// - `--insecure` verifies nothing, and `--cacert` trusts its own file, so
///   the bundle is never needed there, whatever the environment says;
/// - for the system store, only when a hashed directory can stand in for
///   the bundle, and never when the operator set `SSL_CERT_FILE` (then that
///   file is their trust store and is honoured, at its cost).
///
/// # Safety
///
/// It sets environment variables, so it must be called before any other
/// thread exists (in practice: first thing in `main`), and nothing may be
/// reading the environment concurrently, from Rust or from C.
pub unsafe fn skip_eager_bundle_load(trust: &Trust, env: &OpensslEnv) {
    let bundle_not_needed = match trust {
        Trust::Insecure | Trust::CaFile(_) => true,
        Trust::System => !env.cert_file_set && hashed_dir_available(env.cert_dir.as_deref()),
    };
    // SAFETY (both): the caller guarantees no other thread exists.
    if bundle_not_needed {
        unsafe { std::env::set_var("SSL_CERT_FILE", "/dev/null") };
    }
    // With --insecure or --cacert no system directory decides trust either;
    // without this, OpenSSL 3 lists the whole default directory on every
    // failed issuer lookup (one per handshake with a private CA). A path
    // that cannot exist (nothing lives below /dev/null) fails at once; an
    // existing file would be probed by every OSSL_STORE decoder instead.
    if matches!(trust, Trust::Insecure | Trust::CaFile(_)) {
        unsafe { std::env::set_var("SSL_CERT_DIR", "/dev/null/none") };
    }
}

/// Directories OpenSSL-based clients consult, in native-tls's probe order.
const CERT_DIRS: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/etc/openssl/certs",
    "/etc/ssl",
    "/usr/local/share/certs",
];

/// A hashed directory has `<8 hex digits>.0` links made by c_rehash or
/// update-ca-certificates; without them the directory lookup finds nothing.
fn hashed_dir_available(env_dir: Option<&Path>) -> bool {
    let dirs = env_dir.into_iter().chain(CERT_DIRS.iter().map(Path::new));
    dirs.filter_map(|d| std::fs::read_dir(d).ok())
        .any(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| is_hash_name(&e.file_name().to_string_lossy()))
        })
}

fn is_hash_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((hash, n)) => {
            hash.len() == 8
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && n.parse::<u8>().is_ok()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_openssl_hash_links() {
        assert!(is_hash_name("4042bcee.0"));
        assert!(is_hash_name("ABCDEF01.1"));
        assert!(!is_hash_name("ca-certificates.crt"));
        assert!(!is_hash_name("4042bcee"));
        assert!(!is_hash_name("4042bceg.0"));
    }
}
