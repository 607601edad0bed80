//! The boot-time PKI: a certificate authority that exists only while the
//! piñata starts.
//!
//! # Why the CA is born and dies at boot
//!
//! The bounty ports hand out the prize to whoever completes a TLS handshake
//! with a certificate that chains to the piñata's CA (see `DESIGN.md`,
//! "PKI generated at boot"). That rule is only a fair challenge if *nobody*
//! can obtain such a certificate legitimately — not the operator, not the
//! author, not whoever built the image. So:
//!
//! 1. [`bootstrap`] draws a fresh key pair for the CA — Ed25519 by default,
//!    ECDSA P-256 with [`KeyType::EcdsaP256`] — from the platform's
//!    [`SecureRandom`] (the unikernel's DRBG, the OS generator when hosted).
//!    No other entropy is used, and if that source fails nothing is
//!    generated: [`PkiError::Entropy`] is returned (fail closed).
//! 2. The CA signs its own certificate and exactly three leaf certificates:
//!    the bounty *server* identity (port 10000, and what the piñata's TLS
//!    client roles on 10001/10002 expect to see as [`BOUNTY_SERVER_NAME`]),
//!    the bounty *client* identity (what the piñata presents when it is the TLS
//!    client), and the *web* identity for HTTPS on port 443.
//! 3. The CA's private key is a local variable of [`bootstrap`]. It is never
//!    returned, stored, encoded or printed; `bootstrap` drops it explicitly
//!    after the last signature, and its type zeroizes its memory on drop
//!    (asserted at compile time below). What the signing crates leave on the
//!    stack (the moved-from copies of the key, RFC 6979's state and nonce,
//!    Ed25519's expanded key) is overwritten before `bootstrap` returns
//!    ([`crate::provider::wipe`]); `tests/key_erasure.rs` scans the whole
//!    process for the key afterwards. From then on the CA can never sign
//!    again, so the set of valid certificates is closed: the three leaves,
//!    whose keys the piñata keeps in RAM. The only way to the prize is to break
//!    something — TLS, X.509 parsing, the crypto, the network stack — which is
//!    the point of the bounty.
//!
//! The CA certificate (public) is published on the web page so attackers can
//! build clients that trust it; the leaf private keys are kept as PKCS#8 DER in
//! [`Identity`], zeroized on drop, and never shown by `Debug`.
//!
//! # Certificate profile
//!
//! All certificates are X.509 v3, signed by the CA with Ed25519 (RFC 8410)
//! or, for [`KeyType::EcdsaP256`], ecdsa-with-SHA256 (deterministic RFC 6979
//! nonces); neither needs entropy to sign. They carry random positive
//! 127-bit serial numbers and subject/authority key identifiers (RFC 7093
//! method 1: SHA-256, truncated to 160 bits). Validity starts one day before `now` to tolerate clock skew
//! between the piñata and its peers. The CA is constrained to `pathlen:0`,
//! so even a leaf key cannot be abused to mint further certificates.
//!
//! # Key types
//!
//! [`PkiOptions::bounty_key_type`] is the algorithm of the whole bounty chain:
//! the CA and both bounty identities. Ed25519, the default, is the fastest
//! safe choice: a mutual TLS handshake then verifies no ECDSA signature at
//! all (see `docs/DECISIONS.md`, "Bounty chain in Ed25519"). P-256 remains
//! for peers without Ed25519.
//!
//! The web identity (port 443) always has a P-256 key, because browsers do
//! not take Ed25519 in the TLS handshake, and it hangs under the same CA,
//! whichever algorithm that CA signs with: the
//! browser never trusts the piñata's CA anyway, and one CA means one
//! published trust anchor and no second key to generate at boot. It can
//! never pass for a bounty identity: its extended key usage is serverAuth
//! only (the bounty server demands clientAuth), and its names may not match
//! [`BOUNTY_SERVER_NAME`] (the piñata's client roles check that name), which
//! [`bootstrap`] enforces ([`PkiError::WebNameCollision`]).

use alloc::{
    string::{String, ToString},
    vec,
    vec::Vec,
};
use core::{fmt, net::IpAddr, str::FromStr, time::Duration};

use base64ct::{Base64, Encoding};
use p256::{
    ecdsa::signature::{self, Keypair, Signer},
    pkcs8::{DecodePrivateKey, DecodePublicKey, PrivateKeyInfoRef},
};
use rustls::pki_types::{
    CertificateDer, DnsName, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime,
    pem::{self, PemObject},
};
use sha2::{Digest, Sha256};
use x509_cert::{
    attr::AttributeTypeAndValue,
    builder::{self, Builder, CertificateBuilder, profile::BuilderProfile},
    certificate::{Certificate, TbsCertificate},
    der::{
        self, DateTime, Decode, Document, Encode, Tag,
        asn1::{Any, BitString, Ia5String, OctetString},
        oid::{
            AssociatedOid, ObjectIdentifier,
            db::{rfc4519, rfc5280, rfc5912, rfc8410},
        },
    },
    ext::{
        Extension,
        pkix::{
            AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
            SubjectAltName, SubjectKeyIdentifier, name::GeneralName,
        },
    },
    name::{Name, RdnSequence, RelativeDistinguishedName},
    serial_number::SerialNumber,
    spki::{
        self, AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
        SignatureBitStringEncoding, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
    },
    time::{Time, Validity},
};
use zeroize::{Zeroize, Zeroizing};

use crate::provider::wipe;
use crate::random::SecureRandom;

/// The DNS name in the bounty server certificate's subjectAltName. The
/// piñata's own TLS client roles (ports 10001 and 10002) verify the peer
/// against this name, so a self-talk (`socat` 10000 ↔ 10002) succeeds.
pub const BOUNTY_SERVER_NAME: &str = "bounty.pinata";

/// The web identity's key type, and the whole bounty chain's with
/// [`KeyType::EcdsaP256`].
type P256SigningKey = p256::ecdsa::SigningKey;

// The module's central promise: the CA key (and every leaf key while it is
// being encoded) is wiped when it goes out of scope. ed25519-dalek implements
// `ZeroizeOnDrop` only with its `zeroize` feature, so this stops the build if
// a feature change ever removed it (and guards the RustCrypto types alike).
const _: () = {
    const fn zeroizes_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroizes_on_drop::<P256SigningKey>();
    zeroizes_on_drop::<ed25519_dalek::SigningKey>();
    zeroizes_on_drop::<p256::SecretKey>();
};

/// Key algorithm of the bounty chain: the CA and the bounty server and
/// client identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// ECDSA over NIST P-256 with SHA-256.
    EcdsaP256,
    /// Ed25519 (RFC 8410): the default, the fastest safe choice.
    #[default]
    Ed25519,
}

impl KeyType {
    /// The name accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub const fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = PkiError;

    /// Accepts `ecdsa-p256` (also `p256`, `ecdsa`) and `ed25519`, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if ["ecdsa-p256", "p256", "p-256", "ecdsa"]
            .iter()
            .any(|n| s.eq_ignore_ascii_case(n))
        {
            Ok(KeyType::EcdsaP256)
        } else if s.eq_ignore_ascii_case("ed25519") {
            Ok(KeyType::Ed25519)
        } else {
            Err(PkiError::InvalidOptions(
                "unknown key type: expected `ecdsa-p256` or `ed25519`",
            ))
        }
    }
}

/// What [`bootstrap`] should issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiOptions {
    /// Key algorithm of the bounty chain: the CA and the bounty server and
    /// client identities ([`KeyType::default`]: Ed25519).
    pub bounty_key_type: KeyType,
    /// subjectAltName entries of the web (port 443) certificate: DNS names
    /// (a leading `*.` wildcard is allowed) or IPv4/IPv6 literals (an IPv6
    /// literal may be written in brackets). Must not be empty: browsers match
    /// only the SAN. None may match [`BOUNTY_SERVER_NAME`]
    /// ([`validate_web_names`]).
    pub web_names: Vec<String>,
    /// The current time. notBefore is one day earlier (clock skew).
    pub now: UnixTime,
    /// How long the certificates are valid, counted from notBefore.
    pub validity_days: u32,
}

impl PkiOptions {
    /// The default web names: the names a local browser or `curl` uses.
    pub const DEFAULT_WEB_NAMES: [&'static str; 3] = ["localhost", "127.0.0.1", "::1"];
    /// Ten years: the piñata is meant to stand for a long time, and the CA
    /// cannot renew anything once its key is gone.
    pub const DEFAULT_VALIDITY_DAYS: u32 = 3650;
    /// The defaults (an Ed25519 bounty chain, local web names, ten years),
    /// valid from one day before `now`.
    pub fn new(now: UnixTime) -> Self {
        Self {
            bounty_key_type: KeyType::default(),
            web_names: Self::DEFAULT_WEB_NAMES
                .iter()
                .map(|n| (*n).to_string())
                .collect(),
            now,
            validity_days: Self::DEFAULT_VALIDITY_DAYS,
        }
    }
}

/// A certificate chain and its private key, ready for rustls.
pub struct Identity {
    /// `[leaf, ca]`: the piñata sends its CA along, which is harmless (peers
    /// must already trust it) and helps clients that print the chain.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 DER of the leaf's private key; wiped when the identity is dropped.
    key: Zeroizing<Vec<u8>>,
}

impl Identity {
    /// A copy of the private key (PKCS#8) for rustls. The copy belongs to the
    /// caller: hand it to a rustls config built on the piñata's provider,
    /// whose key loader wipes it once parsed
    /// ([`crate::provider::sign::KeyProvider`]); anywhere else, wipe it
    /// yourself (`zeroize::Zeroize`).
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.to_vec()))
    }

    /// The certificate chain as concatenated `CERTIFICATE` PEM blocks, leaf first.
    pub fn cert_pem(&self) -> String {
        self.cert_chain
            .iter()
            .map(|cert| pem_encode("CERTIFICATE", cert))
            .collect()
    }

    /// The private key as a `PRIVATE KEY` (PKCS#8) PEM block, wiped on drop.
    pub fn key_pem(&self) -> Zeroizing<String> {
        pem_encode_secret("PRIVATE KEY", &self.key)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("cert_chain", &self.cert_chain)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Everything the CA issued before its key was destroyed.
#[derive(Debug)]
pub struct Pki {
    /// The self-signed CA certificate: the only trust anchor of the bounty
    /// ports, published on the web page.
    pub ca_cert: CertificateDer<'static>,
    /// Bounty server role (port 10000): SAN [`BOUNTY_SERVER_NAME`], serverAuth.
    pub server: Identity,
    /// Bounty client role (ports 10001, 10002): clientAuth.
    pub client: Identity,
    /// HTTPS (port 443): P-256, SAN from [`PkiOptions::web_names`], serverAuth.
    pub web: Identity,
}

impl Pki {
    /// The CA certificate in PEM, as published on the web page.
    pub fn ca_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.ca_cert)
    }
}

/// Why the PKI could not be generated, or a PEM identity not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkiError {
    /// The entropy source failed or gave unusable output; no keys were made.
    Entropy,
    /// An option cannot be honoured (the text says which).
    InvalidOptions(&'static str),
    /// A web name is neither an IP literal nor a valid DNS name.
    InvalidWebName(String),
    /// A web name would also match the bounty server's certificate name
    /// ([`BOUNTY_SERVER_NAME`]).
    WebNameCollision(String),
    /// Building or DER-encoding `what` failed.
    Encoding {
        /// The object being built.
        what: &'static str,
        /// The underlying error.
        detail: String,
    },
    /// PEM text could not be parsed.
    MalformedPem {
        /// `"certificate"` or `"private key"`.
        what: &'static str,
        /// What was wrong (never includes key material).
        detail: String,
    },
    /// The certificate PEM holds no `CERTIFICATE` block.
    NoCertificate,
    /// The key PEM holds no `PRIVATE KEY`, `EC PRIVATE KEY` or `RSA PRIVATE KEY` block.
    NoPrivateKey,
    /// A `CERTIFICATE` block is not a DER X.509 certificate.
    MalformedCertificate {
        /// Position in the PEM, 0 = first (the leaf).
        index: usize,
        /// The DER decoding error.
        detail: String,
    },
    /// The `PRIVATE KEY` block is not a valid PKCS#8 key.
    MalformedKey(String),
    /// The private key does not belong to the first (leaf) certificate.
    KeyMismatch,
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PkiError::Entropy => f.write_str(
                "entropy source failed: refusing to generate keys (the PKI fails closed)",
            ),
            PkiError::InvalidOptions(why) => write!(f, "invalid PKI options: {why}"),
            PkiError::InvalidWebName(name) => write!(
                f,
                "invalid web name {name:?}: expected a DNS name or an IPv4/IPv6 literal"
            ),
            PkiError::WebNameCollision(name) => write!(
                f,
                "web name {name:?} would also match `{BOUNTY_SERVER_NAME}`, the bounty \
                 server's certificate name: the web certificate must never pass for the \
                 bounty server; choose another name"
            ),
            PkiError::Encoding { what, detail } => {
                write!(f, "could not encode the {what}: {detail}")
            }
            PkiError::MalformedPem { what, detail } => {
                write!(f, "malformed {what} PEM: {detail}")
            }
            PkiError::NoCertificate => f.write_str("no CERTIFICATE block found in the PEM text"),
            PkiError::NoPrivateKey => f.write_str("no private key block found in the PEM text"),
            PkiError::MalformedCertificate { index, detail } => {
                write!(
                    f,
                    "certificate #{index} in the PEM text is malformed: {detail}"
                )
            }
            PkiError::MalformedKey(detail) => write!(f, "malformed private key: {detail}"),
            PkiError::KeyMismatch => {
                f.write_str("the private key does not match the first certificate")
            }
        }
    }
}

impl core::error::Error for PkiError {}

/// Generates the CA, issues the server, client and web identities, and
/// destroys the CA private key. See the module documentation for why.
///
/// All randomness (four key pairs' worth of scalars or seeds, four serial
/// numbers) comes from `random`; if it fails, [`PkiError::Entropy`] is
/// returned and nothing is issued.
pub fn bootstrap(random: &dyn SecureRandom, options: &PkiOptions) -> Result<Pki, PkiError> {
    // Everything that depends only on the options is checked before any key
    // exists, so a configuration error never costs a CA key.
    let plan = Plan::new(options)?;
    let issued = issue_with_a_fresh_ca(random, &plan);
    // The CA's key, every moved-from copy of it and every temporary of its
    // signatures lived in the frames below this one: overwrite them before
    // anything else runs here.
    wipe::scrub_stack();
    issued
}

/// Generates the CA's key, issues everything with it and destroys it.
/// Not inlined, so that all of its stack lies below [`bootstrap`]'s frame,
/// where the scrub reaches.
#[inline(never)]
fn issue_with_a_fresh_ca(random: &dyn SecureRandom, plan: &Plan) -> Result<Pki, PkiError> {
    // The CA private key: a local, borrowed by `issue_all` only, never
    // returned. Both key types zeroize themselves on drop.
    let ca_key = KeyPair::generate(plan.bounty_key_type, random)?;
    let issued = issue_all(&ca_key, random, plan);
    // Its last use was the line above. The explicit drop documents (and fixes)
    // the moment the CA dies: before any certificate leaves this function,
    // on the error path too.
    drop(ca_key);
    issued
}

/// The options, validated and converted to X.509 values.
struct Plan {
    validity: Validity,
    bounty_key_type: KeyType,
    web_names: Vec<GeneralName>,
    ca_name: Name,
    server_name: Name,
    client_name: Name,
    web_name: Name,
}

impl Plan {
    fn new(options: &PkiOptions) -> Result<Self, PkiError> {
        Ok(Self {
            validity: validity(options.now, options.validity_days)?,
            bounty_key_type: options.bounty_key_type,
            web_names: web_general_names(&options.web_names)?,
            ca_name: subject("Piñata CA")?,
            server_name: subject("Piñata bounty server")?,
            client_name: subject("Piñata bounty client")?,
            web_name: subject("Piñata web server")?,
        })
    }
}

/// Issues every certificate with the CA key, which it only borrows.
fn issue_all(ca_key: &KeyPair, random: &dyn SecureRandom, plan: &Plan) -> Result<Pki, PkiError> {
    let ca_spki = ca_key.spki("CA public key")?;
    let ca_signer = CaSigner {
        key: ca_key,
        public_key: CaPublicKey(ca_spki.clone()),
    };
    let ca_profile = Profile {
        subject: plan.ca_name.clone(),
        issuer: None,
        extensions: ca_extensions().map_err(|e| encoding("CA certificate extensions", &e))?,
    };
    let ca_cert = sign(
        &ca_signer,
        ca_profile,
        serial_number(random)?,
        plan.validity,
        ca_spki,
        "CA certificate",
    )?;

    let server = issue_leaf(
        &ca_signer,
        &ca_cert,
        random,
        plan,
        Leaf {
            key_type: plan.bounty_key_type,
            subject: &plan.server_name,
            purpose: rfc5280::ID_KP_SERVER_AUTH,
            names: vec![dns_name(BOUNTY_SERVER_NAME)?],
            what: "bounty server certificate",
        },
    )?;
    let client = issue_leaf(
        &ca_signer,
        &ca_cert,
        random,
        plan,
        Leaf {
            key_type: plan.bounty_key_type,
            subject: &plan.client_name,
            purpose: rfc5280::ID_KP_CLIENT_AUTH,
            // A client certificate is matched by its chain, not a name.
            names: Vec::new(),
            what: "bounty client certificate",
        },
    )?;
    let web = issue_leaf(
        &ca_signer,
        &ca_cert,
        random,
        plan,
        Leaf {
            // Browsers: P-256 regardless of the bounty key type.
            key_type: KeyType::EcdsaP256,
            subject: &plan.web_name,
            purpose: rfc5280::ID_KP_SERVER_AUTH,
            names: plan.web_names.clone(),
            what: "web certificate",
        },
    )?;

    Ok(Pki {
        ca_cert,
        server,
        client,
        web,
    })
}

/// One end-entity certificate to issue.
struct Leaf<'a> {
    key_type: KeyType,
    subject: &'a Name,
    purpose: ObjectIdentifier,
    names: Vec<GeneralName>,
    what: &'static str,
}

fn issue_leaf(
    ca: &CaSigner<'_>,
    ca_cert: &CertificateDer<'static>,
    random: &dyn SecureRandom,
    plan: &Plan,
    leaf: Leaf<'_>,
) -> Result<Identity, PkiError> {
    let key = KeyPair::generate(leaf.key_type, random)?;
    let profile = Profile {
        subject: leaf.subject.clone(),
        issuer: Some(plan.ca_name.clone()),
        extensions: leaf_extensions(leaf.purpose, leaf.names)
            .map_err(|e| encoding(leaf.what, &e))?,
    };
    let cert = sign(
        ca,
        profile,
        serial_number(random)?,
        plan.validity,
        key.spki("leaf public key")?,
        leaf.what,
    )?;
    Ok(Identity {
        cert_chain: vec![cert, ca_cert.clone()],
        key: key.pkcs8(),
    })
    // `key` (the leaf's signing key) is dropped and zeroized here; only its
    // PKCS#8 encoding, itself zeroizing, lives on in the identity.
}

/// Builds and signs one certificate with the CA key.
fn sign(
    ca: &CaSigner<'_>,
    profile: Profile,
    serial: SerialNumber,
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    what: &'static str,
) -> Result<CertificateDer<'static>, PkiError> {
    let builder =
        CertificateBuilder::new(profile, serial, validity, spki).map_err(|e| encoding(what, &e))?;
    let cert = builder
        .build::<_, CaSignature>(ca)
        .map_err(|e| encoding(what, &e))?;
    let der = cert.to_der().map_err(|e| encoding(what, &e))?;
    Ok(CertificateDer::from(der))
}

/// The CA key as x509-cert's builder wants a signer: the key pair, its
/// public key (encoded once, not per certificate) and the signature
/// algorithm to write into the certificate.
struct CaSigner<'a> {
    key: &'a KeyPair,
    public_key: CaPublicKey,
}

/// The CA's SubjectPublicKeyInfo, as the builder's "verifying key" (it only
/// ever encodes it, for the authority key identifier).
#[derive(Clone)]
struct CaPublicKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for CaPublicKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::encode_msg(&self.0)?)
    }
}

impl Keypair for CaSigner<'_> {
    type VerifyingKey = CaPublicKey;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.public_key.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for CaSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.key.signature_algorithm())
    }
}

/// A signature value as the certificate's BIT STRING carries it.
struct CaSignature(Vec<u8>);

impl SignatureBitStringEncoding for CaSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl Signer<CaSignature> for CaSigner<'_> {
    fn try_sign(&self, message: &[u8]) -> Result<CaSignature, signature::Error> {
        self.key.sign(message).map(CaSignature)
    }
}

/// The issuer/subject names and extensions of one certificate, for
/// x509-cert's builder (which asks the profile for them while signing).
struct Profile {
    subject: Name,
    /// `None` for the self-signed CA.
    issuer: Option<Name>,
    /// Role-specific extensions; key identifiers are added when signing.
    extensions: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let mut extensions = self.extensions.clone();
        // Key identifiers let verifiers pick the issuer by key, not by name.
        extensions.push(extension(&key_identifier(&spk)?, false)?);
        // RFC 5280 4.2.1.1: required except in self-signed certificates.
        if self.issuer.is_some() {
            let issuer_key_id = key_identifier(&issuer_spk)?;
            let aki = AuthorityKeyIdentifier {
                key_identifier: Some(issuer_key_id.0),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            };
            extensions.push(extension(&aki, false)?);
        }
        Ok(extensions)
    }
}

/// RFC 7093 section 2, method 1: the leftmost 160 bits of the SHA-256 hash
/// of the subjectPublicKey BIT STRING's value. (x509-cert's
/// `SubjectKeyIdentifier::try_from` hashes with SHA-1, RFC 5280's example,
/// which linked a SHA-1 implementation into the image for this alone;
/// verifiers only compare identifiers, never recompute them.)
fn key_identifier(spk: &SubjectPublicKeyInfoRef<'_>) -> der::Result<SubjectKeyIdentifier> {
    let digest = Sha256::digest(spk.subject_public_key.raw_bytes());
    Ok(SubjectKeyIdentifier(OctetString::new(&digest[..20])?))
}

fn ca_extensions() -> der::Result<Vec<Extension>> {
    Ok(vec![
        // pathlen:0 — the CA signs end entities only, never another CA.
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
            true,
        )?,
        extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
    ])
}

fn leaf_extensions(
    purpose: ObjectIdentifier,
    names: Vec<GeneralName>,
) -> der::Result<Vec<Extension>> {
    let mut extensions = vec![
        extension(
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
            true,
        )?,
        // TLS 1.2 ECDHE and TLS 1.3 only sign with the leaf key.
        extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?,
        extension(&ExtendedKeyUsage(vec![purpose]), false)?,
    ];
    if !names.is_empty() {
        // Not critical: every subject here has a non-empty name (RFC 5280 4.2.1.6).
        extensions.push(extension(&SubjectAltName(names), false)?);
    }
    Ok(extensions)
}

/// Encodes an extension with an explicit criticality, rather than relying on
/// the library's per-type defaults, so the profile is visible in this file.
fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// The organization of every subject.
const ORGANIZATION: &str = "Piñata";

/// `O=Piñata, CN={common_name}`, both UTF8String (the names are not ASCII).
fn subject(common_name: &str) -> Result<Name, PkiError> {
    let mut rdns = RdnSequence::default();
    for (oid, value) in [
        (rfc4519::ORGANIZATION_NAME, ORGANIZATION),
        (rfc4519::COMMON_NAME, common_name),
    ] {
        let atv = AttributeTypeAndValue {
            oid,
            value: Any::new(Tag::Utf8String, value.as_bytes())
                .map_err(|e| encoding("subject name", &e))?,
        };
        let rdn = RelativeDistinguishedName::try_from(vec![atv])
            .map_err(|e| encoding("subject name", &e))?;
        rdns.push(rdn);
    }
    // x509-cert's `hazmat` constructor leaves RFC 5280 compliance to the
    // caller: two single-valued RDNs of standard attribute types with
    // UTF8String values comply. The way without it, a round trip through
    // DER, linked x509-cert's `Name` decoder into the image (about 11 KB).
    Ok(Name::hazmat_from_rdn_sequence(rdns))
}

/// notBefore = now − 1 day, notAfter = notBefore + `days`.
///
/// x509-cert picks UTCTime through 2049 and GeneralizedTime from 2050, as
/// RFC 5280 4.1.2.5 requires.
fn validity(now: UnixTime, days: u32) -> Result<Validity, PkiError> {
    const DAY: u64 = 24 * 60 * 60;
    if days == 0 {
        return Err(PkiError::InvalidOptions("validity_days is 0"));
    }
    // A platform without a clock may report the epoch: start there rather
    // than fail, since UTCTime cannot go below 1970.
    let not_before = now.as_secs().saturating_sub(DAY);
    let not_after = not_before + u64::from(days) * DAY;
    let time = |secs: u64| {
        DateTime::from_unix_duration(Duration::from_secs(secs))
            .map(Time::from)
            .map_err(|_| PkiError::InvalidOptions("validity ends after the year 9999"))
    };
    Ok(Validity::new(time(not_before)?, time(not_after)?))
}

/// Checks the web certificate's names as [`bootstrap`] will: each is an IP
/// literal or a DNS name (a leading `*.` allowed), there is at least one,
/// and none would also match [`BOUNTY_SERVER_NAME`].
///
/// For front ends that want to refuse a bad `--web-name` before anything
/// else starts; [`bootstrap`] checks again regardless.
pub fn validate_web_names(names: &[String]) -> Result<(), PkiError> {
    web_general_names(names).map(drop)
}

/// Whether a certificate with the DNS name `name` (a leading `*.` is a
/// wildcard for one label, RFC 6125 6.4.3) would be accepted for
/// [`BOUNTY_SERVER_NAME`]. Case and a trailing dot do not matter to
/// verifiers, so they do not matter here.
fn matches_bounty_server_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.eq_ignore_ascii_case(BOUNTY_SERVER_NAME) {
        return true;
    }
    match (name.strip_prefix("*."), BOUNTY_SERVER_NAME.split_once('.')) {
        (Some(parent), Some((_, bounty_parent))) => parent.eq_ignore_ascii_case(bounty_parent),
        _ => false,
    }
}

/// The web certificate's subjectAltName entries.
fn web_general_names(names: &[String]) -> Result<Vec<GeneralName>, PkiError> {
    if names.is_empty() {
        return Err(PkiError::InvalidOptions(
            "web_names is empty: the web certificate needs at least one name",
        ));
    }
    names
        .iter()
        .map(|name| {
            let trimmed = name.trim();
            let unbracketed = trimmed
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .unwrap_or(trimmed);
            // IP literals first: browsers match an IP only against iPAddress
            // entries, never against a dNSName that happens to look like one.
            if let Ok(ip) = IpAddr::from_str(unbracketed) {
                return Ok(GeneralName::from(ip));
            }
            // A wildcard is allowed in the leftmost label only (RFC 6125 6.4.3).
            let host = trimmed.strip_prefix("*.").unwrap_or(trimmed);
            if DnsName::try_from(host).is_ok() {
                if matches_bounty_server_name(trimmed) {
                    return Err(PkiError::WebNameCollision(name.clone()));
                }
                return dns_name(trimmed);
            }
            Err(PkiError::InvalidWebName(name.clone()))
        })
        .collect()
}

fn dns_name(name: &str) -> Result<GeneralName, PkiError> {
    Ia5String::new(name)
        .map(GeneralName::DnsName)
        .map_err(|e| encoding("subjectAltName", &e))
}

/// How often an unusable draw (an out-of-range P-256 scalar, an all-zero
/// serial) is retried. Each happens with probability below 2^-32 from a
/// working source; several in a row mean the source is broken (e.g. stuck at
/// zero or all ones), which must fail closed rather than loop.
const MAX_DRAWS: usize = 8;

fn draw<const N: usize>(random: &dyn SecureRandom) -> Result<Zeroizing<[u8; N]>, PkiError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    random.fill(bytes.as_mut()).map_err(|_| PkiError::Entropy)?;
    Ok(bytes)
}

/// A P-256 key from 32 bytes of the platform source (rejection sampling:
/// values ≥ the group order or zero are drawn again).
fn generate_p256(random: &dyn SecureRandom) -> Result<P256SigningKey, PkiError> {
    for _ in 0..MAX_DRAWS {
        let scalar = draw::<32>(random)?;
        if let Ok(key) = P256SigningKey::from_slice(scalar.as_ref()) {
            return Ok(key);
        }
    }
    Err(PkiError::Entropy)
}

/// A random positive serial number of up to 127 bits (RFC 5280 allows 20
/// octets; unpredictable serials are the CA/B Forum's defence against
/// chosen-prefix collisions).
fn serial_number(random: &dyn SecureRandom) -> Result<SerialNumber, PkiError> {
    for _ in 0..MAX_DRAWS {
        let mut bytes = *draw::<16>(random)?;
        // Clear the sign bit so the DER INTEGER is positive without padding.
        bytes[0] &= 0x7f;
        if bytes.iter().any(|b| *b != 0) {
            // Leading zero octets are stripped by `SerialNumber::new`.
            return SerialNumber::new(&bytes).map_err(|e| encoding("serial number", &e));
        }
    }
    Err(PkiError::Entropy)
}

/// A key pair made at boot: the CA's, alive only inside [`bootstrap`], or a
/// leaf's, alive while its certificate is issued and its PKCS#8 encoded.
/// Both variants zeroize their secret on drop.
enum KeyPair {
    P256(P256SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// RFC 8410 section 7: PKCS#8 v1 `PrivateKeyInfo` for an Ed25519 seed is
/// this fixed prefix followed by the 32-byte seed. Written by hand because
/// ed25519-dalek's encoder needs its `alloc` feature, and the fixed form is
/// easier to audit than a feature dependency.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, // SEQUENCE, 46 bytes
    0x02, 0x01, 0x00, // INTEGER 0 (v1)
    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, // AlgorithmIdentifier id-Ed25519
    0x04, 0x22, 0x04, 0x20, // OCTET STRING { OCTET STRING (32 bytes) }
];

/// RFC 5915 inside RFC 5208: PKCS#8 v1 `PrivateKeyInfo` for a P-256 key is
/// this fixed prefix, the 32-byte scalar, [`P256_PKCS8_MIDDLE`] and the
/// 65-byte uncompressed public point — byte for byte what `p256`'s own
/// encoder writes (a unit test checks), but without computing the public
/// key a second time: that encoder derives it from the scalar again, one
/// more P-256 scalar multiplication at boot.
const P256_PKCS8_PREFIX: [u8; 36] = [
    0x30, 0x81, 0x87, // SEQUENCE, 135 bytes
    0x02, 0x01, 0x00, // INTEGER 0 (v1)
    0x30, 0x13, // AlgorithmIdentifier
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // id-ecPublicKey
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, // prime256v1
    0x04, 0x6d, // OCTET STRING, 109 bytes: ECPrivateKey
    0x30, 0x6b, // SEQUENCE, 107 bytes
    0x02, 0x01, 0x01, // INTEGER 1 (ecPrivkeyVer1)
    0x04, 0x20, // OCTET STRING, 32 bytes: the scalar
];
/// Between the scalar and the public point: `[1] { BIT STRING }`.
const P256_PKCS8_MIDDLE: [u8; 5] = [0xa1, 0x44, 0x03, 0x42, 0x00];
/// The whole P-256 PKCS#8 document.
const P256_PKCS8_LEN: usize = P256_PKCS8_PREFIX.len() + 32 + P256_PKCS8_MIDDLE.len() + 65;

/// The PKCS#8 of a P-256 key, written once at its final size (no
/// reallocation leaves a copy behind) and wiped on drop.
fn p256_pkcs8(key: &P256SigningKey) -> Zeroizing<Vec<u8>> {
    let scalar = Zeroizing::new(key.to_bytes());
    let point = key.verifying_key().to_sec1_point(false);
    let mut der = Zeroizing::new(Vec::with_capacity(P256_PKCS8_LEN));
    der.extend_from_slice(&P256_PKCS8_PREFIX);
    der.extend_from_slice(&scalar);
    der.extend_from_slice(&P256_PKCS8_MIDDLE);
    der.extend_from_slice(point.as_bytes());
    der
}

impl KeyPair {
    fn generate(key_type: KeyType, random: &dyn SecureRandom) -> Result<Self, PkiError> {
        match key_type {
            KeyType::EcdsaP256 => generate_p256(random).map(KeyPair::P256),
            KeyType::Ed25519 => {
                // Every 32-byte string is a valid Ed25519 seed.
                let seed = draw::<32>(random)?;
                Ok(KeyPair::Ed25519(ed25519_dalek::SigningKey::from_bytes(
                    &seed,
                )))
            }
        }
    }

    fn spki(&self, what: &'static str) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
        match self {
            KeyPair::P256(key) => spki_p256(key, what),
            KeyPair::Ed25519(key) => {
                spki_ed25519(key.verifying_key().as_bytes()).map_err(|e| encoding(what, &e))
            }
        }
    }

    /// The algorithm of the signatures [`KeyPair::sign`] makes, as a
    /// certificate names it: ecdsa-with-SHA256 (RFC 5758 3.2: parameters
    /// absent) or id-Ed25519 (RFC 8410 section 3: parameters absent).
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            KeyPair::P256(_) => rfc5912::ECDSA_WITH_SHA_256,
            KeyPair::Ed25519(_) => rfc8410::ID_ED_25519,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    /// Signs `message`: a DER `ECDSA-Sig-Value` (SHA-256, deterministic
    /// RFC 6979 nonce) or a 64-byte Ed25519 signature (RFC 8032, pure).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        match self {
            KeyPair::P256(key) => {
                let signature: p256::ecdsa::DerSignature = key.try_sign(message)?;
                Ok(signature.as_bytes().to_vec())
            }
            KeyPair::Ed25519(key) => {
                let signature: ed25519_dalek::Signature = key.try_sign(message)?;
                Ok(signature.to_bytes().to_vec())
            }
        }
    }

    fn pkcs8(&self) -> Zeroizing<Vec<u8>> {
        match self {
            KeyPair::P256(key) => p256_pkcs8(key),
            KeyPair::Ed25519(key) => {
                // Exact capacity: no reallocation leaves a stray copy behind.
                let mut der = Zeroizing::new(Vec::with_capacity(ED25519_PKCS8_PREFIX.len() + 32));
                der.extend_from_slice(&ED25519_PKCS8_PREFIX);
                der.extend_from_slice(key.as_bytes());
                der
            }
        }
    }
}

/// RFC 5480 section 2: algorithm id-ecPublicKey with the named curve
/// secp256r1 as parameters, the uncompressed SEC1 point as the BIT STRING.
/// Built directly: `SubjectPublicKeyInfoOwned::from_key` encodes the key's
/// SPKI and decodes it again (a unit test checks both agree).
fn spki_p256(
    key: &P256SigningKey,
    what: &'static str,
) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    let point = key.verifying_key().to_sec1_point(false);
    let spki = || -> der::Result<SubjectPublicKeyInfoOwned> {
        Ok(SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: rfc5912::ID_EC_PUBLIC_KEY,
                parameters: Some(Any::encode_from(&rfc5912::SECP_256_R_1)?),
            },
            subject_public_key: BitString::from_bytes(point.as_bytes())?,
        })
    };
    spki().map_err(|e| encoding(what, &e))
}

/// RFC 8410 section 4: algorithm id-Ed25519 with absent parameters, the
/// 32-byte public key as the BIT STRING.
fn spki_ed25519(public_key: &[u8; 32]) -> der::Result<SubjectPublicKeyInfoOwned> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: rfc8410::ID_ED_25519,
            parameters: None,
        },
        subject_public_key: BitString::from_bytes(public_key)?,
    })
}

fn encoding(what: &'static str, error: &dyn fmt::Display) -> PkiError {
    PkiError::Encoding {
        what,
        detail: error.to_string(),
    }
}

/// Encodes DER as a PEM block (RFC 7468): `-----BEGIN {label}-----`, base64
/// in 64-column lines, `-----END {label}-----`, each line ending in `\n`.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let mut pem = String::with_capacity(pem_len(label, der.len()));
    write_pem(&mut pem, label, der);
    pem
}

/// [`pem_encode`] for secrets: the string is allocated once at its final
/// size (no reallocation leaves copies in freed memory) and zeroized on drop.
fn pem_encode_secret(label: &str, der: &[u8]) -> Zeroizing<String> {
    let mut pem = Zeroizing::new(String::with_capacity(pem_len(label, der.len())));
    write_pem(&mut pem, label, der);
    pem
}

/// 48 input bytes make one 64-character base64 line.
const PEM_LINE_BYTES: usize = 48;

fn pem_len(label: &str, der_len: usize) -> usize {
    const BEGIN: &str = "-----BEGIN -----\n";
    const END: &str = "-----END -----\n";
    let lines = der_len.div_ceil(PEM_LINE_BYTES);
    BEGIN.len() + END.len() + 2 * label.len() + der_len.div_ceil(3) * 4 + lines
}

fn write_pem(out: &mut String, label: &str, der: &[u8]) {
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64ct is constant-time, which matters when `der` is a private key.
    let mut line = [0u8; 64];
    for chunk in der.chunks(PEM_LINE_BYTES) {
        // Not `expect`: that would link the error's `Debug` into the image.
        let Ok(text) = Base64::encode(chunk, &mut line) else {
            unreachable!("48 bytes always fit in 64 base64 characters")
        };
        out.push_str(text);
        out.push('\n');
    }
    line.zeroize();
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
}

/// Loads an operator-supplied certificate chain and private key (PEM), e.g.
/// a real certificate for port 443.
///
/// `cert_pem` holds one or more `CERTIFICATE` blocks, leaf first; other
/// blocks are skipped. `key_pem` holds a `PRIVATE KEY` (PKCS#8),
/// `EC PRIVATE KEY` (SEC1) or `RSA PRIVATE KEY` block; the first is used.
/// Every certificate must be valid DER, and a P-256 or Ed25519 key must match
/// the leaf's public key (other algorithms are left to rustls, which checks
/// when the key is loaded).
pub fn parse_pem_identity(
    cert_pem: &str,
    key_pem: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), PkiError> {
    let mut chain = Vec::new();
    for (index, item) in CertificateDer::pem_slice_iter(cert_pem.as_bytes()).enumerate() {
        let cert = item.map_err(|e| malformed_pem("certificate", &e))?;
        Certificate::from_der(&cert).map_err(|e| PkiError::MalformedCertificate {
            index,
            detail: e.to_string(),
        })?;
        chain.push(cert);
    }
    if chain.is_empty() {
        return Err(PkiError::NoCertificate);
    }

    let key = match PrivateKeyDer::from_pem_slice(key_pem.as_bytes()) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => return Err(PkiError::NoPrivateKey),
        Err(e) => return Err(malformed_pem("private key", &e)),
    };
    check_key_matches(&chain[0], &key)?;
    Ok((chain, key))
}

/// Only the kind of PEM error is reported: pki-types' messages may quote
/// input lines, and for a key file those could contain key material.
fn malformed_pem(what: &'static str, error: &pem::Error) -> PkiError {
    let detail = match error {
        pem::Error::MissingSectionEnd { .. } => "a BEGIN line has no matching END line",
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "the base64 body is invalid",
        pem::Error::SectionTooLarge => "a PEM block is too large",
        _ => "unreadable PEM",
    };
    PkiError::MalformedPem {
        what,
        detail: detail.to_string(),
    }
}

/// Checks that `key` is the private half of `cert`'s public key, for the
/// algorithms this crate can compute public keys for.
fn check_key_matches(cert: &CertificateDer<'_>, key: &PrivateKeyDer<'_>) -> Result<(), PkiError> {
    let cert = Certificate::from_der(cert).map_err(|e| PkiError::MalformedCertificate {
        index: 0,
        detail: e.to_string(),
    })?;
    let cert_spki = cert.tbs_certificate().subject_public_key_info();

    let matches = match key {
        PrivateKeyDer::Pkcs8(pkcs8) => {
            let info = PrivateKeyInfoRef::from_der(pkcs8.secret_pkcs8_der())
                .map_err(|e| PkiError::MalformedKey(e.to_string()))?;
            if info.algorithm.oid == rfc8410::ID_ED_25519 {
                let key = ed25519_dalek::SigningKey::try_from(info)
                    .map_err(|e| PkiError::MalformedKey(e.to_string()))?;
                Some(
                    cert_spki.algorithm.oid == rfc8410::ID_ED_25519
                        && cert_spki.subject_public_key.as_bytes()
                            == Some(key.verifying_key().as_bytes().as_slice()),
                )
            } else if info.algorithm.oid == rfc5912::ID_EC_PUBLIC_KEY {
                // Another curve (P-384, ...) fails here: not ours to check.
                p256::SecretKey::from_pkcs8_der(pkcs8.secret_pkcs8_der())
                    .ok()
                    .map(|key| p256_matches(&key, cert_spki))
            } else {
                None
            }
        }
        PrivateKeyDer::Sec1(sec1) => p256::SecretKey::from_sec1_der(sec1.secret_sec1_der())
            .ok()
            .map(|key| p256_matches(&key, cert_spki)),
        _ => None,
    };
    match matches {
        Some(false) => Err(PkiError::KeyMismatch),
        Some(true) | None => Ok(()),
    }
}

fn p256_matches(key: &p256::SecretKey, cert_spki: &SubjectPublicKeyInfoOwned) -> bool {
    // Compare points, not encodings: the certificate may hold a compressed
    // point where the key derives an uncompressed one.
    cert_spki
        .to_der()
        .ok()
        .and_then(|der| p256::PublicKey::from_public_key_der(&der).ok())
        .is_some_and(|cert_key| cert_key == key.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::EncodePrivateKey;

    #[test]
    fn the_p256_pkcs8_template_is_what_the_p256_encoder_writes() {
        for scalar in [[1u8; 32], [0x7f; 32], [0xa5; 32]] {
            let key = P256SigningKey::from_slice(&scalar).unwrap();
            let ours = p256_pkcs8(&key);
            assert_eq!(ours.len(), P256_PKCS8_LEN);
            assert_eq!(&ours[..], key.to_pkcs8_der().unwrap().as_bytes());
        }
    }

    #[test]
    fn the_p256_spki_is_what_from_key_gives() {
        for scalar in [[1u8; 32], [0x7f; 32], [0xa5; 32]] {
            let key = P256SigningKey::from_slice(&scalar).unwrap();
            let ours = spki_p256(&key, "test").unwrap();
            let theirs = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).unwrap();
            assert_eq!(ours, theirs);
            assert_eq!(ours.to_der().unwrap(), theirs.to_der().unwrap());
        }
    }

    /// The subject built without a DER round trip is the one the round trip
    /// gave (and its DER, `SEQUENCE { SET { O }, SET { CN } }`, is plain).
    #[test]
    fn subject_is_what_its_der_round_trip_gives() {
        let name = subject("Piñata bounty server").unwrap();
        let der = name.to_der().unwrap();
        assert_eq!(Name::from_der(&der).unwrap(), name);
        let rdns = RdnSequence::from(name);
        let attributes: Vec<_> = rdns.iter().flat_map(|rdn| rdn.iter()).collect();
        assert_eq!(rdns.iter().count(), 2);
        assert_eq!(attributes[0].oid, rfc4519::ORGANIZATION_NAME);
        assert_eq!(attributes[1].oid, rfc4519::COMMON_NAME);
        assert_eq!(
            attributes[1].value.value(),
            "Piñata bounty server".as_bytes()
        );
        assert_eq!(der::Tagged::tag(&attributes[1].value), Tag::Utf8String);
    }
}
