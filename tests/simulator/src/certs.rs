//! The simulator's certificates: a test CA minted per run, and server
//! certificates that are good, expired, for the wrong name or from an
//! unknown CA, so every TLS verification path can be driven.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use std::sync::Arc;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};

use crate::Cert;

/// The DNS name beside the IP addresses of `Cert::IpAddresses`: reserved,
/// so only an IP address match can verify that certificate.
const IP_ONLY_NAME: &str = "gklm.invalid";

struct Authority {
    key: PKey<Private>,
    cert: X509,
}

fn new_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn new_serial_hex() -> String {
    let mut n = BigNum::new().unwrap();
    n.rand(32, MsbOption::MAYBE_ZERO, false).unwrap();
    n.to_hex_str().unwrap().to_string()
}

fn name(cn: &str) -> openssl::x509::X509Name {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    name.build()
}

fn unix_days(days: i64) -> Asn1Time {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Asn1Time::from_unix(now + days * 86_400).unwrap()
}

fn builder(
    subject: &str,
    issuer: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
    from_days: i64,
    to_days: i64,
) -> openssl::x509::X509Builder {
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name(subject)).unwrap();
    b.set_issuer_name(issuer).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&unix_days(from_days)).unwrap();
    b.set_not_after(&unix_days(to_days)).unwrap();
    b
}

fn authority(cn: &str) -> Authority {
    let key = new_key();
    let subject = name(cn);
    let mut b = builder(cn, &subject, &key, -1, 3650);
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    Authority {
        key,
        cert: b.build(),
    }
}

fn server_cert(
    ca: &Authority,
    key: &PKey<Private>,
    dns: &str,
    from_days: i64,
    to_days: i64,
) -> X509 {
    let mut b = builder(dns, ca.cert.subject_name(), key, from_days, to_days);
    b.append_extension(BasicConstraints::new().build().unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
        .unwrap();
    let mut san = SubjectAlternativeName::new();
    san.dns(dns);
    if dns == "localhost" {
        san.ip("127.0.0.1");
    }
    if dns == IP_ONLY_NAME {
        san.ip("127.0.0.1");
        san.ip("::1");
    }
    let san = san.build(&b.x509v3_context(Some(&ca.cert), None)).unwrap();
    b.append_extension(san).unwrap();
    b.sign(&ca.key, MessageDigest::sha256()).unwrap();
    b.build()
}

/// Mint a CA and a server certificate of the requested kind; write the CA
/// (the one clients should trust) to `dir/ca.pem` and `dir/hashed/<hash>.0`.
pub(crate) fn make_acceptor(kind: Cert, dir: &Path) -> Arc<SslAcceptor> {
    // A name of its own per simulator: two simulators' CAs must not be
    // mistaken for each other by an issuer lookup.
    let trusted = authority(&format!("GKLM Simulator Test CA {}", new_serial_hex()));
    let key = new_key();
    let cert = match kind {
        Cert::Good => server_cert(&trusted, &key, "localhost", -1, 365),
        Cert::Expired => server_cert(&trusted, &key, "localhost", -30, -1),
        Cert::WrongName => server_cert(&trusted, &key, "wrong.example", -1, 365),
        Cert::UnknownCa => server_cert(&authority("Some Other CA"), &key, "localhost", -1, 365),
        Cert::IpAddresses => server_cert(&trusted, &key, IP_ONLY_NAME, -1, 365),
    };
    let pem = trusted.cert.to_pem().unwrap();
    std::fs::create_dir_all(dir.join("hashed")).unwrap();
    std::fs::write(dir.join("ca.pem"), &pem).unwrap();
    let hash = trusted.cert.subject_name_hash();
    std::fs::write(dir.join("hashed").join(format!("{hash:08x}.0")), &pem).unwrap();
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_private_key(&key).unwrap();
    acceptor.set_certificate(&cert).unwrap();
    acceptor.check_private_key().unwrap();
    Arc::new(acceptor.build())
}
