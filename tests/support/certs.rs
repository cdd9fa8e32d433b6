//! A throw-away certificate authority (openssl crate): server certificates
//! for 127.0.0.1 / localhost, client certificates, iSulad-style certs.d
//! directories, and self-signed signing certificates for tokens.

use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{SslAcceptor, SslConnector, SslFiletype, SslMethod};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509Name, X509NameBuilder};

use super::write_file;

/// A certificate and its private key, in memory and as PEM files.
#[derive(Clone)]
pub struct CertPair {
    pub cert: X509,
    pub key: PKey<Private>,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl CertPair {
    pub fn cert_pem(&self) -> Vec<u8> {
        self.cert.to_pem().expect("certificate to PEM")
    }

    pub fn key_pem(&self) -> Vec<u8> {
        self.key.private_key_to_pem_pkcs8().expect("key to PEM")
    }

    /// DER of the certificate.
    pub fn cert_der(&self) -> Vec<u8> {
        self.cert.to_der().expect("certificate to DER")
    }
}

/// A certificate authority whose `ca.crt` lives in a directory of the caller.
#[derive(Clone)]
pub struct Ca {
    pub pair: CertPair,
}

fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).expect("generate RSA key")).expect("wrap RSA key")
}

fn x509_name(cn: &str) -> X509Name {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("O", "isula-registry tests")
        .unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    name.build()
}

fn builder(subject_cn: &str, key: &PKey<Private>, days: u32) -> X509Builder {
    let name = x509_name(subject_cn);
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(120, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    let now = super::unix_now() as i64;
    b.set_not_before(&Asn1Time::from_unix((now - 86_400) as _).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(days).unwrap())
        .unwrap();
    b
}

fn save(dir: &Path, name: &str, cert: X509, key: PKey<Private>) -> CertPair {
    let cert_file = dir.join(format!("{name}.crt"));
    let key_file = dir.join(format!("{name}.key"));
    write_file(&cert_file, &cert.to_pem().unwrap());
    write_file(&key_file, &key.private_key_to_pem_pkcs8().unwrap());
    CertPair {
        cert,
        key,
        cert_file,
        key_file,
    }
}

/// A self-signed certificate (not a CA) with its key, written as
/// `<dir>/<name>.crt` and `<dir>/<name>.key`; used to sign tokens.
pub fn self_signed(dir: &Path, name: &str, cn: &str) -> CertPair {
    let key = rsa_key();
    let mut b = builder(cn, &key, 30);
    b.set_issuer_name(&x509_name(cn)).unwrap();
    b.append_extension(BasicConstraints::new().critical().build().unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .build()
            .unwrap(),
    )
    .unwrap();
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(ski).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    save(dir, name, b.build(), key)
}

impl Ca {
    /// A new CA; writes `<dir>/ca.crt` and `<dir>/ca.key`.
    pub fn new(dir: &Path) -> Ca {
        let key = rsa_key();
        let mut b = builder("isula-registry test CA", &key, 30);
        b.set_issuer_name(&x509_name("isula-registry test CA"))
            .unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .digital_signature()
                .build()
                .unwrap(),
        )
        .unwrap();
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .unwrap();
        b.append_extension(ski).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        Ca {
            pair: save(dir, "ca", b.build(), key),
        }
    }

    /// `ca.crt` (PEM).
    pub fn ca_file(&self) -> &Path {
        &self.pair.cert_file
    }

    fn issue(&self, dir: &Path, name: &str, cn: &str, server: bool) -> CertPair {
        let key = rsa_key();
        let mut b = builder(cn, &key, 30);
        b.set_issuer_name(self.pair.cert.subject_name()).unwrap();
        b.append_extension(BasicConstraints::new().critical().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .unwrap(),
        )
        .unwrap();
        let eku = if server {
            ExtendedKeyUsage::new().server_auth().build().unwrap()
        } else {
            ExtendedKeyUsage::new().client_auth().build().unwrap()
        };
        b.append_extension(eku).unwrap();
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(Some(&self.pair.cert), None))
            .unwrap();
        b.append_extension(ski).unwrap();
        let aki = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&b.x509v3_context(Some(&self.pair.cert), None))
            .unwrap();
        b.append_extension(aki).unwrap();
        if server {
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .dns("localhost")
                .build(&b.x509v3_context(Some(&self.pair.cert), None))
                .unwrap();
            b.append_extension(san).unwrap();
        }
        b.sign(&self.pair.key, MessageDigest::sha256()).unwrap();
        save(dir, name, b.build(), key)
    }

    /// A server certificate for IP 127.0.0.1 and DNS localhost:
    /// `<dir>/<name>.crt`, `<dir>/<name>.key`.
    pub fn issue_server(&self, dir: &Path, name: &str) -> CertPair {
        self.issue(dir, name, "127.0.0.1", true)
    }

    /// A client certificate (extendedKeyUsage clientAuth).
    pub fn issue_client(&self, dir: &Path, name: &str, cn: &str) -> CertPair {
        self.issue(dir, name, cn, false)
    }

    /// Lays out `<certs_dir>/<host>/ca.crt` like iSulad's certs.d, plus
    /// `client.cert` and `client.key` when a client pair is given (iSulad
    /// wants all three or only the CA). Returns `<certs_dir>/<host>`.
    pub fn write_certs_d(
        &self,
        certs_dir: &Path,
        host: &str,
        client: Option<&CertPair>,
    ) -> PathBuf {
        let host_dir = certs_dir.join(host);
        write_file(&host_dir.join("ca.crt"), &self.pair.cert_pem());
        if let Some(c) = client {
            write_file(&host_dir.join("client.cert"), &c.cert_pem());
            write_file(&host_dir.join("client.key"), &c.key_pem());
        }
        host_dir
    }

    /// A TLS acceptor for a server certificate of this CA.
    pub fn acceptor(&self, server: &CertPair) -> SslAcceptor {
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        b.set_certificate_file(&server.cert_file, SslFiletype::PEM)
            .unwrap();
        b.set_private_key_file(&server.key_file, SslFiletype::PEM)
            .unwrap();
        b.check_private_key().unwrap();
        b.build()
    }

    /// A TLS connector trusting only this CA.
    pub fn connector(&self) -> SslConnector {
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        b.set_ca_file(self.ca_file()).unwrap();
        b.build()
    }
}
