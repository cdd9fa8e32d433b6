use super::*;
use crate::distribution::manifest::{Descriptor as Blob, ImageManifest, Schema1Layer};

fn client() -> Client {
    Client::new(
        "registry.invalid:5000",
        "test/x",
        ClientConfig {
            insecure: false,
            skip_tls_verify: false,
            certs_dir: PathBuf::from("/nonexistent-certs.d"),
            credentials: None,
            cancel: Cancel::new(),
        },
    )
    .unwrap()
}

fn bearer(realm: &str, token: Option<&str>, expires_time: i64) -> Challenge {
    Challenge {
        schema: Some("Bearer".into()),
        realm: Some(realm.into()),
        service: Some("registry".into()),
        cached_token: token.map(|t| Secret::new(t.to_string())),
        expires_time,
    }
}

#[test]
fn bearer_session_round_trip() {
    let c = client();
    c.resume_session(
        Some("https"),
        Auth::Bearer {
            realm: "https://auth.invalid/token".into(),
            service: Some("registry".into()),
            token: Some((
                Secret::new("tok".to_string()),
                Instant::now() + Duration::from_secs(100),
            )),
        },
    );
    let s = Session::of(&c);
    assert_eq!(s.protocol.as_deref(), Some("https"));
    assert_eq!(s.challenges.len(), 1);
    let ch = &s.challenges[0];
    assert_eq!(ch.schema.as_deref(), Some("Bearer"));
    assert_eq!(ch.realm.as_deref(), Some("https://auth.invalid/token"));
    assert_eq!(ch.service.as_deref(), Some("registry"));
    assert_eq!(ch.cached_token.as_deref().map(String::as_str), Some("tok"));
    let left = ch.expires_time - now_unix();
    assert!((98..=101).contains(&left), "{left}");
    match s.auth() {
        (
            Some("https"),
            Auth::Bearer {
                realm,
                service,
                token: Some((token, expiry)),
            },
        ) => {
            assert_eq!(realm, "https://auth.invalid/token");
            assert_eq!(service.as_deref(), Some("registry"));
            assert_eq!(&**token, "tok");
            let left = expiry.saturating_duration_since(Instant::now()).as_secs();
            assert!((97..=101).contains(&left), "{left}");
        }
        other => panic!("unexpected session {other:?}"),
    }
    // an expired token is not reused, the challenge is
    let mut expired = s.clone();
    expired.challenges[0].expires_time = now_unix() - 1;
    assert!(matches!(
        expired.auth(),
        (Some("https"), Auth::Bearer { token: None, .. })
    ));
}

#[test]
fn basic_and_anonymous_sessions() {
    let c = client();
    c.resume_session(Some("http"), Auth::Basic);
    let s = Session::of(&c);
    assert_eq!(s.protocol.as_deref(), Some("http"));
    assert_eq!(s.challenges.len(), 1);
    assert_eq!(s.challenges[0].schema.as_deref(), Some("Basic"));
    assert_eq!(s.challenges[0].realm.as_deref(), Some("Basic"));
    assert!(matches!(s.auth(), (Some("http"), Auth::Basic)));

    c.resume_session(None, Auth::Anonymous);
    let s = Session::of(&c);
    // no protocol learnt (the stored one stays) and no challenge
    assert_eq!(s.protocol, None);
    assert!(s.challenges.is_empty());
    assert!(matches!(s.auth(), (None, Auth::Anonymous)));
}

#[test]
fn bearer_wins_and_unknown_protocol_and_schemes_are_ignored() {
    let s = Session {
        protocol: Some("ftp".into()),
        challenges: vec![
            Challenge {
                schema: Some("Digest".into()),
                realm: Some("x".into()),
                ..Challenge::default()
            },
            Challenge {
                schema: Some("basic".into()),
                realm: Some("Basic".into()),
                ..Challenge::default()
            },
        ],
    };
    assert!(matches!(s.auth(), (None, Auth::Basic)));
    let mut with_bearer = s.clone();
    // a Bearer challenge without realm is not usable; the next one is
    with_bearer.challenges.push(Challenge {
        realm: None,
        ..bearer("", None, 0)
    });
    with_bearer.challenges.push(bearer(
        "https://auth.invalid/t",
        Some("tok"),
        now_unix() + 50,
    ));
    match with_bearer.auth() {
        (None, Auth::Bearer { realm, token, .. }) => {
            assert_eq!(realm, "https://auth.invalid/t");
            assert!(token.is_some());
        }
        other => panic!("unexpected session {other:?}"),
    }
}

#[test]
fn blobs_of_image_and_schema1() {
    let blob = |media_type: &str, digest: &str, size| Blob {
        media_type: media_type.into(),
        digest: digest.into(),
        size,
        platform: None,
    };
    let image = Manifest::Image(ImageManifest {
        media_type: manifest::DOCKER_SCHEMA1.into(),
        config: blob("application/vnd.oci.image.config.v1+json", "sha256:c", 3),
        layers: vec![blob(manifest::DOCKER_LAYER_GZIP, "sha256:00", 7)],
    });
    let (config, layers) = blobs_of(&image);
    assert_eq!(
        config,
        Some(BlobRef {
            media_type: "application/vnd.oci.image.config.v1+json".into(),
            digest: "sha256:c".into(),
            size: 3,
        })
    );
    assert_eq!(
        layers,
        vec![LayerSpec {
            empty: false,
            media_type: Some(manifest::DOCKER_LAYER_GZIP.into()),
            size: 7,
            digest: Some("sha256:00".into()),
        }]
    );
    let schema1 = Manifest::Schema1 {
        name: "test/x".into(),
        tag: "v1".into(),
        architecture: "amd64".into(),
        layers: vec![
            Schema1Layer {
                blob_sum: "sha256:aa".into(),
                empty: true,
                v1_compatibility: "{}".into(),
            },
            Schema1Layer {
                blob_sum: "sha256:bb".into(),
                empty: false,
                v1_compatibility: "{}".into(),
            },
        ],
    };
    let (config, layers) = blobs_of(&schema1);
    assert_eq!(config, None);
    assert_eq!(
        layers,
        vec![
            LayerSpec {
                empty: true,
                media_type: None,
                size: 0,
                digest: None,
            },
            LayerSpec {
                empty: false,
                media_type: Some(manifest::DOCKER_LAYER_GZIP.into()),
                size: 0,
                digest: Some("sha256:bb".into()),
            },
        ]
    );
}

fn desc() -> Descriptor {
    Descriptor {
        host: Some("registry.invalid:5000".into()),
        name: Some("test/x".into()),
        tag: Some("v1".into()),
        blobpath: Some(PathBuf::from("/nonexistent-blobpath")),
        ..Descriptor::default()
    }
}

fn message<T>(o: Outcome<T>) -> String {
    assert!(o.session.is_none(), "no request, no session to store");
    match o.result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_descriptors_fail_before_any_request() {
    let mut none = |_: &str, _: u64, _: u64| panic!("no progress expected");
    let no_host = Descriptor {
        host: None,
        ..desc()
    };
    assert!(message(fetch_manifest(&no_host, &mut none)).contains("no host"));
    let no_tag = Descriptor {
        tag: None,
        ..desc()
    };
    assert!(message(fetch_manifest(&no_tag, &mut none)).contains("no tag"));
    let no_blobpath = Descriptor {
        blobpath: None,
        ..desc()
    };
    assert!(message(fetch_manifest(&no_blobpath, &mut none)).contains("no blobpath"));
    assert!(message(fetch_config(&desc(), &mut none)).contains("fetch the manifest first"));

    let d = Descriptor {
        layers_len: 2,
        ..desc()
    };
    let m = message(fetch_layer(&d, 2, None, &mut none));
    assert!(
        m.contains("invalid layer index 2: the pull descriptor has 2 layers"),
        "{m}"
    );
    let empty = LayerRef {
        empty: true,
        ..LayerRef::default()
    };
    assert!(message(fetch_layer(&d, 0, Some(&empty), &mut none)).contains("empty (throwaway)"));
    let m = message(fetch_layer(&d, 1, Some(&LayerRef::default()), &mut none));
    assert!(m.contains("layer 1 has no digest"), "{m}");

    assert!(message(login(&desc())).contains("needs a username and a password"));
    let mut sink = transport::sink::Body::new(Vec::new(), false);
    let m = message(request(
        &no_host,
        "not a url",
        Vec::new(),
        false,
        0,
        &mut sink,
        None,
    ));
    assert!(m.contains("no host"), "{m}");
}

#[test]
fn token_scope_and_tls_files() {
    let d = desc();
    assert_eq!(d.scope().as_deref(), Some("repository:test/x:pull"));
    let d = Descriptor {
        scope: Some("repository:a:push".into()),
        ca_file: Some(PathBuf::from("/ca.crt")),
        ..desc()
    };
    assert_eq!(d.scope().as_deref(), Some("repository:a:push"));
    // the descriptor's files are for its own host, over https only
    let own = d.tls_for_url("https://registry.invalid:5000/v2/").unwrap();
    assert_eq!(own.ca_file.as_deref(), Some(Path::new("/ca.crt")));
    assert_eq!(
        d.tls_for_url("http://registry.invalid:5000/v2/").unwrap(),
        TlsFiles::default()
    );
    let other = d.tls_for_url("https://auth.invalid/token").unwrap();
    assert_eq!(other.ca_file, None);
}
