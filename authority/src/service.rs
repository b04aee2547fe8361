//! The authority's operations: each validates its input, applies the registry's rules to
//! the driver aggregate through the store, and returns a wire type. Handlers only
//! extract and call these.

use std::sync::{Arc, Mutex};

use edl_core::credential::{Audience, ElicenceId, Issuance};
use edl_core::crypto::{PublicKey, TotpSeed, ct_eq, sha256};
use edl_core::licence::{
    Licence, LicenceStatus, MainPage, PointsCycle, RecordEntry, StatusCode, SupplementaryPage,
    e_licence_eligibility,
};
use edl_core::verify::{OnlineCheck, check_code, china_date};
use edl_core::wire::{
    ActivationCode, ApplicationPhase, ApplicationView, ApplyRequest, Base64, BusinessQualification,
    BusySetting, CheckOutcome, CounterIssue, DriverCreated, DriverDetail, ElicenceState,
    ElicenceSummary, ElicenceUpdate, EnrolRequest, EnrolResponse, FeedMessage, IdentityChallenge,
    LiveView, MessageKind, NewDriver, NewVerifier, NewViolation, PendingReview, PhotoAccepted,
    PhotoUpload, RejectPhoto, Renewal, ReviewKind, ReviewOutcome, ReviewPending, ReviewQueue,
    ReviewResult, SyncResponse, TrustListResponse, VerificationLogEntry, VerifierCreated,
    VerifyRequest, VerifyResponse,
};
use time::OffsetDateTime;

use crate::config::Config;
use crate::domain::{check_issuable, check_photo, live_licence, message, review_deadline};
use crate::error::{Error, Result};
use crate::identity::IdentityProvider;
use crate::keys::{Keys, Loaded};
use crate::limiter::Limiter;
use crate::random;
use crate::store::{
    Activation, Bytes32, Challenge, DriverId, DriverState, Effects, ElicenceRecord, FeedEvent,
    PhotoDecision, PhotoOnFile, PhotoRow, PhotoStatus, Store, StoreError, VerifierRow,
};

/// Record entries kept per licence: bounds the signed enforcement view (a u16 length)
/// and the live view.
pub const MAX_RECORD_ENTRIES: usize = 100;
/// Feed entries per sync answer.
pub const SYNC_PAGE: u32 = 200;
/// Reviews per queue page at most.
pub const MAX_REVIEW_PAGE: u32 = 100;

/// Everything the handlers share.
pub struct App {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Issuer keys.
    pub keys: Keys,
    /// Failed-check counters.
    pub limiter: Limiter,
    /// The real-person check.
    pub identity: Arc<dyn IdentityProvider>,
    /// Settings.
    pub config: Config,
    busy: Mutex<Option<u32>>,
}

fn datetime(now: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(0))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn application_view(s: &DriverState) -> ApplicationView {
    ApplicationView {
        phase: s.phase,
        pending_review: s.pending_review,
    }
}

fn detail(s: &DriverState) -> DriverDetail {
    DriverDetail {
        driver_id: s.id,
        licence: s.licence.clone(),
        device_enrolled: s.device_key.is_some(),
        photo_on_file: s.photo.is_some(),
        application: application_view(s),
        elicence: s.elicence.as_ref().map(|e| ElicenceSummary {
            elicence_id: ElicenceId(e.id),
            state: e.state,
            issued_at: e.issued_at,
            expires_at: e.expires_at,
            kid: e.kid,
        }),
    }
}

fn text(field: &'static str, value: &str, max_chars: usize) -> Result<()> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > max_chars {
        return Err(Error::BadRequest(format!(
            "`{field}` must be 1 to {max_chars} characters"
        )));
    }
    Ok(())
}

fn photo_bytes(b: &Base64) -> Result<([u8; 32], Vec<u8>)> {
    check_photo(b.as_bytes())?;
    Ok((sha256(b.as_bytes()), b.as_bytes().to_vec()))
}

/// Signs a credential for the driver's current data under e-licence `id` with `seed`.
fn sign(
    s: &mut DriverState,
    keys: &Loaded,
    id: u64,
    seed: Bytes32,
    now: u64,
    ttl_hours: u16,
) -> Result<ElicenceRecord> {
    let device = s
        .device_key
        .ok_or(Error::InvalidState("no device enrolled on the account"))?;
    let device = PublicKey::from_bytes(&device.0).map_err(|_| StoreError::Corrupt("device key"))?;
    let photo = s
        .photo
        .as_ref()
        .ok_or(Error::InvalidState("no approved photo on file"))?;
    let mut licence = live_licence(&s.licence, now);
    licence.main.photo_digest = photo.digest.0;
    licence.main.generated_at = datetime(now);
    let credential = keys.issuer.issue(
        &licence,
        Issuance {
            id: ElicenceId(id),
            device_key: device,
            issued_at: u32::try_from(now).unwrap_or(u32::MAX),
            ttl_hours,
        },
    )?;
    s.licence = licence;
    Ok(ElicenceRecord {
        id,
        seed,
        state: ElicenceState::Active,
        credential: Base64(credential.encode()?),
        issued_at: now,
        expires_at: now + 3600 * u64::from(ttl_hours),
        kid: keys.issuer.kid().0,
    })
}

/// A new e-licence (new id and seed): the previous one stops verifying.
fn issue_new(s: &mut DriverState, keys: &Loaded, now: u64, ttl: u16) -> Result<()> {
    let record = sign(s, keys, random::id(), Bytes32(random::bytes()), now, ttl)?;
    s.elicence = Some(record);
    s.phase = ApplicationPhase::Issued;
    Ok(())
}

/// A fresh credential for the active e-licence (same id and seed, so the wallet's codes
/// keep working): after a change of status, points or photo.
fn reissue(s: &mut DriverState, keys: &Loaded, now: u64, ttl: u16) -> Result<()> {
    let Some(current) = s.elicence.clone() else {
        return Ok(());
    };
    if current.state != ElicenceState::Active {
        return Ok(());
    }
    let record = sign(s, keys, current.id, current.seed, now, ttl)?;
    s.elicence = Some(record);
    Ok(())
}

fn eligible(licence: &Licence, now: u64) -> Result<()> {
    e_licence_eligibility(
        &licence.main.status,
        licence.main.valid_until,
        china_date(now),
    )
    .map_err(Error::NotEligible)
}

fn msg(kind: MessageKind, now: u64, title: &str, body: String) -> FeedEvent {
    FeedEvent::Message(message(kind, now, title, &body))
}

fn succeeded(now: u64, at_counter: bool) -> FeedEvent {
    let body = if at_counter {
        "您在车管所窗口申领的电子驾驶证已发放到本账户。"
    } else {
        "您的电子驾驶证申领成功，可在“电子驾驶证”中查看和出示。"
    };
    msg(
        MessageKind::ApplicationSucceeded,
        now,
        "电子驾驶证申领成功",
        body.to_owned(),
    )
}

fn valid_client_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl App {
    /// Builds the shared state.
    pub fn new(
        store: Arc<dyn Store>,
        keys: Keys,
        identity: Arc<dyn IdentityProvider>,
        config: Config,
    ) -> Self {
        App {
            store,
            keys,
            limiter: Limiter::new(config.check_limits),
            identity,
            busy: Mutex::new(config.busy_retry_after),
            config,
        }
    }

    /// Now, by the configured clock.
    pub fn now(&self) -> u64 {
        self.config.clock.now()
    }

    fn ttl(&self) -> u16 {
        // A verifier refuses views that declare more than the protocol cap (D57).
        self.config
            .credential_ttl_hours
            .clamp(1, edl_core::credential::MAX_VIEW_LIFETIME_HOURS)
    }

    async fn load(&self, id: DriverId) -> Result<DriverState> {
        self.store
            .driver(id)
            .await?
            .ok_or(Error::UnknownId("driver"))
    }

    /// Rebuilds lock-outs from the failures in the verification log.
    pub async fn restore_limiter(&self) -> Result<()> {
        let now = self.now();
        let since = now.saturating_sub(self.limiter.memory());
        for f in self.store.check_failures_since(since).await? {
            self.limiter.fail(f.verifier_id, Some(f.driver_id), f.at);
        }
        Ok(())
    }

    // ---- registry (admin) ----

    /// Registers a driver and their licence.
    pub async fn create_driver(&self, d: NewDriver) -> Result<DriverCreated> {
        let now = self.now();
        let photo = d.photo.as_ref().map(photo_bytes).transpose()?;
        let today = china_date(now).max(d.first_issue);
        let cycle = PointsCycle::containing(d.first_issue, today, &[])?;
        let licence = Licence {
            main: MainPage {
                licence_number: d.licence_number,
                name: d.name,
                sex: d.sex,
                nationality: d.nationality,
                date_of_birth: d.date_of_birth,
                classes: d.classes,
                first_issue: d.first_issue,
                valid_from: d.valid_from,
                valid_until: d.valid_until,
                status: d.status.unwrap_or(LicenceStatus::normal()),
                photo_digest: photo.as_ref().map(|p| p.0).unwrap_or([0; 32]),
                generated_at: datetime(now),
            },
            supplementary: SupplementaryPage {
                address: d.address,
                issuing_authority: d.issuing_authority,
                record: Vec::new(),
                cycle,
            },
        };
        check_issuable(&licence, now)?;
        let mut state = DriverState::new(licence);
        let row = photo.map(|(digest, bytes)| {
            let id = random::id();
            state.photo = Some(PhotoOnFile {
                photo_id: id,
                digest: Bytes32(digest),
                approved_at: now,
            });
            PhotoRow {
                id,
                driver_id: 0,
                client_key: None,
                digest,
                bytes,
                kind: ReviewKind::Application,
                status: PhotoStatus::Approved,
                submitted_at: now,
                deadline: now,
            }
        });
        match self.store.create_driver(state, row).await {
            Ok(driver_id) => Ok(DriverCreated { driver_id }),
            Err(StoreError::Conflict(_)) => Err(Error::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }

    /// One driver.
    pub async fn driver(&self, id: DriverId) -> Result<DriverDetail> {
        Ok(detail(&self.load(id).await?))
    }

    /// A new one-time activation code (replaces any earlier one).
    pub async fn activation_code(&self, id: DriverId) -> Result<ActivationCode> {
        let now = self.now();
        let code = random::digits(8);
        let expires_at = now + self.config.activation_ttl;
        let hash = Bytes32(sha256(code.as_bytes()));
        self.store
            .update_driver(
                id,
                Box::new(move |s| {
                    s.activation = Some(Activation {
                        code_hash: hash,
                        expires_at,
                        attempts: 0,
                    });
                    Ok(Effects::default())
                }),
            )
            .await?;
        Ok(ActivationCode { code, expires_at })
    }

    /// Records a violation; 12 points in the cycle sets B (超分).
    pub async fn record_violation(&self, id: DriverId, v: NewViolation) -> Result<DriverDetail> {
        let now = self.now();
        text("place", &v.place, 100)?;
        text("act", &v.act, 100)?;
        if v.points > edl_core::licence::POINTS_LIMIT {
            return Err(Error::BadRequest("`points` must be 0 to 12".into()));
        }
        if v.date > china_date(now) {
            return Err(Error::BadRequest("`date` is in the future".into()));
        }
        let keys = self.keys.current();
        let ttl = self.ttl();
        let state = self
            .store
            .update_driver(
                id,
                Box::new(move |s| {
                    if v.date < s.licence.main.first_issue {
                        return Err(Error::BadRequest("`date` is before the first issue".into()));
                    }
                    if s.licence.supplementary.record.len() >= MAX_RECORD_ENTRIES {
                        return Err(Error::InvalidState("the driving record is full"));
                    }
                    let points = v.points;
                    let record = &mut s.licence.supplementary.record;
                    let at = record.partition_point(|e| e.date <= v.date);
                    record.insert(
                        at,
                        RecordEntry {
                            date: v.date,
                            place: v.place,
                            act: v.act,
                            points: v.points,
                            fine_yuan: v.fine_yuan,
                            handled: v.handled,
                        },
                    );
                    s.licence = live_licence(&s.licence, now);
                    let cycle = &s.licence.supplementary.cycle;
                    let total = cycle.points;
                    if cycle.reached_limit() {
                        s.licence.main.status.insert(StatusCode::OverPoints);
                    }
                    check_issuable(&s.licence, now)?;
                    reissue(s, &keys, now, ttl)?;
                    Ok(Effects {
                        feed: vec![msg(
                            MessageKind::ViolationRecorded,
                            now,
                            "交通违法记分",
                            format!("新增交通违法记录，记{points}分；本记分周期累计{total}分。"),
                        )],
                        ..Effects::default()
                    })
                }),
            )
            .await?;
        Ok(detail(&state))
    }

    /// Sets the status letters.
    pub async fn set_status(&self, id: DriverId, status: LicenceStatus) -> Result<DriverDetail> {
        let now = self.now();
        let keys = self.keys.current();
        let ttl = self.ttl();
        let state = self
            .store
            .update_driver(
                id,
                Box::new(move |s| {
                    s.licence.main.status = status;
                    check_issuable(&s.licence, now)?;
                    reissue(s, &keys, now, ttl)?;
                    Ok(Effects {
                        feed: vec![msg(
                            MessageKind::StatusChanged,
                            now,
                            "驾驶证状态变更",
                            format!("驾驶证状态变更为：{}。", status.label_zh()),
                        )],
                        ..Effects::default()
                    })
                }),
            )
            .await?;
        Ok(detail(&state))
    }

    /// Renews the licence: the current e-licence stops verifying at once.
    pub async fn renew(&self, id: DriverId, r: Renewal) -> Result<DriverDetail> {
        let now = self.now();
        if r.classes.is_none()
            && r.valid_from.is_none()
            && r.valid_until.is_none()
            && r.issuing_authority.is_none()
        {
            return Err(Error::BadRequest("a renewal must change something".into()));
        }
        let state = self
            .store
            .update_driver(
                id,
                Box::new(move |s| {
                    let m = &mut s.licence.main;
                    if let Some(c) = r.classes {
                        m.classes = c;
                    }
                    if let Some(d) = r.valid_from {
                        m.valid_from = d;
                    }
                    if let Some(d) = r.valid_until {
                        m.valid_until = d;
                    }
                    // A renewed licence is no longer overdue for renewal.
                    m.status.remove(StatusCode::OverdueRenewal);
                    if let Some(a) = r.issuing_authority {
                        s.licence.supplementary.issuing_authority = a;
                    }
                    check_issuable(&s.licence, now)?;
                    if let Some(e) = s.elicence.as_mut()
                        && e.state == ElicenceState::Active
                    {
                        e.state = ElicenceState::Superseded;
                        s.phase = ApplicationPhase::ReapplyNeeded;
                    }
                    Ok(Effects {
                        feed: vec![msg(
                            MessageKind::LicenceRenewed,
                            now,
                            "驾驶证已换证",
                            "您的驾驶证信息已变更，原电子驾驶证已失效，请重新申领。".into(),
                        )],
                        ..Effects::default()
                    })
                }),
            )
            .await?;
        Ok(detail(&state))
    }

    /// Counter issuance: the e-licence goes to the enrolled app account.
    pub async fn counter_issue(&self, id: DriverId, c: CounterIssue) -> Result<DriverDetail> {
        let now = self.now();
        let photo = c.photo.as_ref().map(photo_bytes).transpose()?;
        let keys = self.keys.current();
        let ttl = self.ttl();
        let state = self
            .store
            .update_driver(
                id,
                Box::new(move |s| {
                    if s.device_key.is_none() {
                        return Err(Error::InvalidState("no app account enrolled"));
                    }
                    eligible(&s.licence, now)?;
                    let mut effects = Effects::default();
                    if let Some((digest, bytes)) = photo {
                        let photo_id = random::id();
                        s.photo = Some(PhotoOnFile {
                            photo_id,
                            digest: Bytes32(digest),
                            approved_at: now,
                        });
                        effects.new_photo = Some(PhotoRow {
                            id: photo_id,
                            driver_id: s.id,
                            client_key: None,
                            digest,
                            bytes,
                            kind: ReviewKind::Application,
                            status: PhotoStatus::Approved,
                            submitted_at: now,
                            deadline: now,
                        });
                    }
                    if let Some(p) = s.pending_review.take() {
                        effects.photo_decisions.push(PhotoDecision {
                            photo_id: p.photo_id,
                            status: PhotoStatus::Withdrawn,
                            decided_at: now,
                        });
                    }
                    issue_new(s, &keys, now, ttl)?;
                    // The office checked the person at the counter.
                    s.identity_key = s.device_key;
                    effects.feed.push(succeeded(now, true));
                    Ok(effects)
                }),
            )
            .await?;
        Ok(detail(&state))
    }

    /// The oldest pending photo reviews.
    pub async fn review_queue(&self, limit: Option<u32>) -> Result<ReviewQueue> {
        let limit = limit.unwrap_or(20).clamp(1, MAX_REVIEW_PAGE);
        let rows = self.store.pending_photos(limit).await?;
        Ok(ReviewQueue {
            reviews: rows
                .into_iter()
                .map(|p| PendingReview {
                    photo_id: p.id,
                    driver_id: p.driver_id,
                    kind: p.kind,
                    submitted_at: p.submitted_at,
                    deadline: p.deadline,
                    photo: Base64(p.bytes),
                })
                .collect(),
        })
    }

    async fn pending_photo(&self, photo_id: u64) -> Result<PhotoRow> {
        let photo = self
            .store
            .photo(photo_id)
            .await?
            .ok_or(Error::UnknownId("photo"))?;
        if photo.status != PhotoStatus::Pending {
            return Err(Error::InvalidState("the photo was already decided"));
        }
        Ok(photo)
    }

    /// Approves a photo: issues the e-licence (application) or re-signs it (change).
    pub async fn approve(&self, photo_id: u64) -> Result<DriverDetail> {
        let now = self.now();
        let photo = self.pending_photo(photo_id).await?;
        let keys = self.keys.current();
        let ttl = self.ttl();
        let digest = photo.digest;
        let state = self
            .store
            .update_driver(
                photo.driver_id,
                Box::new(move |s| {
                    if s.pending_review.map(|p| p.photo_id) != Some(photo_id) {
                        return Err(Error::InvalidState("the photo is no longer pending"));
                    }
                    s.pending_review = None;
                    s.photo = Some(PhotoOnFile {
                        photo_id,
                        digest: Bytes32(digest),
                        approved_at: now,
                    });
                    let mut effects = Effects {
                        photo_decisions: vec![PhotoDecision {
                            photo_id,
                            status: PhotoStatus::Approved,
                            decided_at: now,
                        }],
                        feed: vec![FeedEvent::Review(ReviewResult {
                            photo_id,
                            outcome: ReviewOutcome::Approved,
                            reason: None,
                            decided_at: now,
                        })],
                        ..Effects::default()
                    };
                    match s.phase {
                        ApplicationPhase::UnderReview | ApplicationPhase::AwaitingPhoto => {
                            match eligible(&s.licence, now) {
                                Ok(()) => {
                                    issue_new(s, &keys, now, ttl)?;
                                    effects.feed.push(succeeded(now, false));
                                }
                                Err(Error::NotEligible(reason)) => {
                                    s.phase = ApplicationPhase::NotApplied;
                                    effects.feed.push(msg(
                                        MessageKind::StatusChanged,
                                        now,
                                        "电子驾驶证申领未通过",
                                        reason.reason_zh().to_owned(),
                                    ));
                                }
                                Err(e) => return Err(e),
                            }
                        }
                        ApplicationPhase::Issued => {
                            reissue(s, &keys, now, ttl)?;
                            effects.feed.push(msg(
                                MessageKind::PhotoChanged,
                                now,
                                "照片更换成功",
                                "您的电子驾驶证照片已更新。".into(),
                            ));
                        }
                        _ => {}
                    }
                    Ok(effects)
                }),
            )
            .await?;
        Ok(detail(&state))
    }

    /// Rejects a photo; a malicious one stops the e-licence.
    pub async fn reject(&self, photo_id: u64, r: RejectPhoto) -> Result<DriverDetail> {
        let now = self.now();
        text("reason", &r.reason, 200)?;
        let photo = self.pending_photo(photo_id).await?;
        let state = self
            .store
            .update_driver(
                photo.driver_id,
                Box::new(move |s| {
                    if s.pending_review.map(|p| p.photo_id) != Some(photo_id) {
                        return Err(Error::InvalidState("the photo is no longer pending"));
                    }
                    s.pending_review = None;
                    let (status, outcome) = if r.malicious {
                        (PhotoStatus::Malicious, ReviewOutcome::RejectedMalicious)
                    } else {
                        (PhotoStatus::Rejected, ReviewOutcome::Rejected)
                    };
                    let mut feed = vec![
                        FeedEvent::Review(ReviewResult {
                            photo_id,
                            outcome,
                            reason: Some(r.reason.clone()),
                            decided_at: now,
                        }),
                        msg(
                            MessageKind::PhotoRejected,
                            now,
                            "照片审核未通过",
                            format!("原因：{}", r.reason),
                        ),
                    ];
                    if r.malicious {
                        s.phase = ApplicationPhase::Stopped;
                        if let Some(e) = s.elicence.as_mut()
                            && e.state == ElicenceState::Active
                        {
                            e.state = ElicenceState::Stopped;
                        }
                        feed.push(msg(
                            MessageKind::ElicenceStopped,
                            now,
                            "电子驾驶证已停止使用",
                            "因上传恶意照片，电子驾驶证已停止使用，请到车管所窗口办理。".into(),
                        ));
                    } else if s.phase == ApplicationPhase::UnderReview {
                        s.phase = ApplicationPhase::AwaitingPhoto;
                    }
                    Ok(Effects {
                        feed,
                        photo_decisions: vec![PhotoDecision {
                            photo_id,
                            status,
                            decided_at: now,
                        }],
                        ..Effects::default()
                    })
                }),
            )
            .await?;
        Ok(detail(&state))
    }

    /// A verifier account and its API key.
    pub async fn create_verifier(&self, v: NewVerifier) -> Result<VerifierCreated> {
        text("name", &v.name, 100)?;
        let api_key = format!("edlv_{}", hex::encode(random::bytes::<32>()));
        let id = self
            .store
            .create_verifier(&v.name, v.class, sha256(api_key.as_bytes()), self.now())
            .await?;
        Ok(VerifierCreated {
            verifier_id: id,
            api_key,
            class: v.class,
            audience: v.class.audience(),
        })
    }

    /// The verifier holding `api_key`.
    pub async fn verifier(&self, api_key: &str) -> Result<VerifierRow> {
        if api_key.is_empty() || api_key.len() > 200 {
            return Err(Error::Unauthorized);
        }
        self.store
            .verifier_by_key_hash(sha256(api_key.as_bytes()))
            .await?
            .ok_or(Error::Unauthorized)
    }

    /// Rotates the issuer key.
    pub async fn rotate_key(&self) -> Result<TrustListResponse> {
        let life = 3600 * u64::from(self.ttl());
        let loaded = self
            .keys
            .rotate(self.store.as_ref(), self.now(), life)
            .await?;
        Ok(TrustListResponse {
            server_time: self.now(),
            ..loaded.response.clone()
        })
    }

    /// The trust list.
    pub fn trust_list(&self) -> TrustListResponse {
        TrustListResponse {
            server_time: self.now(),
            ..self.keys.current().response.clone()
        }
    }

    /// Sets or clears the busy switch.
    pub fn set_busy(&self, b: BusySetting) -> BusySetting {
        *self.busy.lock().unwrap_or_else(|e| e.into_inner()) = b.retry_after;
        b
    }

    fn busy(&self) -> Option<u32> {
        *self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- wallet ----

    /// Enrols a device with a one-time activation code.
    pub async fn enrol(&self, e: EnrolRequest) -> Result<EnrolResponse> {
        let now = self.now();
        let key = e
            .device_public_key
            .to_array::<32>()
            .filter(|k| PublicKey::from_bytes(k).is_ok())
            .ok_or_else(|| Error::BadRequest("`device_public_key` is not an Ed25519 key".into()))?;
        if e.activation_code.len() > 32 || e.licence_number.len() > 32 {
            return Err(Error::BadActivationCode);
        }
        // An unknown licence number gets the same answer as a wrong code: enrolment must
        // not tell which licence numbers exist.
        let Some(driver) = self
            .store
            .driver_by_licence_number(e.licence_number.trim())
            .await?
        else {
            return Err(Error::BadActivationCode);
        };
        let hash = sha256(e.activation_code.trim().as_bytes());
        let max_attempts = self.config.activation_max_attempts;
        let state = self
            .store
            .update_driver(
                driver.id,
                Box::new(move |s| {
                    let refuse = || {
                        Ok(Effects {
                            refuse: Some(Error::BadActivationCode),
                            ..Effects::default()
                        })
                    };
                    let Some(act) = s.activation.as_mut() else {
                        return Err(Error::BadActivationCode);
                    };
                    if act.expires_at <= now {
                        s.activation = None;
                        return refuse();
                    }
                    if !ct_eq(&act.code_hash.0, &hash) {
                        act.attempts += 1;
                        if act.attempts >= max_attempts {
                            s.activation = None;
                        }
                        return refuse();
                    }
                    s.activation = None;
                    let mut effects = Effects::default();
                    if s.device_key != Some(Bytes32(key)) {
                        s.device_key = Some(Bytes32(key));
                        // Credentials are bound to the old device key: a new device needs
                        // a new e-licence.
                        if let Some(e) = s.elicence.as_mut()
                            && e.state == ElicenceState::Active
                        {
                            e.state = ElicenceState::Superseded;
                            s.phase = ApplicationPhase::ReapplyNeeded;
                        }
                        effects.feed.push(msg(
                            MessageKind::DeviceEnrolled,
                            now,
                            "新设备登录",
                            "您的账户已在新设备上启用。".into(),
                        ));
                    }
                    Ok(effects)
                }),
            )
            .await?;
        Ok(EnrolResponse {
            account_id: state.id,
            server_time: now,
        })
    }

    /// A real-person check challenge (replaces any earlier one).
    pub async fn identity_challenge(&self, account: DriverId) -> Result<IdentityChallenge> {
        let now = self.now();
        let challenge = Challenge {
            id: random::id(),
            nonce: Bytes32(random::bytes()),
            expires_at: now + self.config.identity_challenge_ttl,
        };
        let c = challenge.clone();
        self.store
            .update_driver(
                account,
                Box::new(move |s| {
                    s.challenge = Some(c);
                    Ok(Effects::default())
                }),
            )
            .await?;
        Ok(IdentityChallenge {
            challenge_id: challenge.id,
            challenge: Base64(challenge.nonce.0.to_vec()),
            expires_at: challenge.expires_at,
        })
    }

    /// Applies for the e-licence.
    pub async fn apply(&self, account: DriverId, a: ApplyRequest) -> Result<ApplicationView> {
        let now = self.now();
        let keys = self.keys.current();
        let ttl = self.ttl();
        let identity = self.identity.clone();
        let max_age = self.config.photo_reuse_max_age;
        let state = self
            .store
            .update_driver(
                account,
                Box::new(move |s| {
                    match s.phase {
                        ApplicationPhase::Stopped => return Err(Error::ElicenceStopped),
                        // Applying again while issued or under review changes nothing.
                        ApplicationPhase::Issued | ApplicationPhase::UnderReview => {
                            return Ok(Effects::default());
                        }
                        _ => {}
                    }
                    eligible(&s.licence, now)?;
                    let mut effects = Effects::default();
                    if s.identity_key.is_none() || s.identity_key != s.device_key {
                        let proof = a.identity.ok_or(Error::IdentityCheckRequired)?;
                        // The challenge is used up whatever the outcome.
                        let challenge = s.challenge.take();
                        let passed = challenge.is_some_and(|c| {
                            c.id == proof.challenge_id
                                && c.expires_at > now
                                && identity.verify(
                                    &c.nonce.0,
                                    &s.licence.main.licence_number,
                                    proof.attestation.as_bytes(),
                                )
                        });
                        if !passed {
                            effects.refuse = Some(Error::IdentityCheckFailed);
                            return Ok(effects);
                        }
                        s.identity_key = s.device_key;
                    }
                    let reusable = s
                        .photo
                        .as_ref()
                        .is_some_and(|p| now.saturating_sub(p.approved_at) <= max_age);
                    if a.reuse_stored_photo && reusable {
                        issue_new(s, &keys, now, ttl)?;
                        effects.feed.push(succeeded(now, false));
                    } else {
                        s.phase = ApplicationPhase::AwaitingPhoto;
                    }
                    Ok(effects)
                }),
            )
            .await?;
        Ok(application_view(&state))
    }

    /// Uploads a photo for the application or a photo change.
    pub async fn upload_photo(&self, account: DriverId, p: PhotoUpload) -> Result<PhotoAccepted> {
        let now = self.now();
        if !valid_client_key(&p.client_key) {
            return Err(Error::BadRequest(
                "`client_key` must be 1 to 64 of A-Z a-z 0-9 - _".into(),
            ));
        }
        let (digest, bytes) = photo_bytes(&p.photo)?;
        if let Some(answer) = self.repeated_upload(account, &p.client_key, digest).await? {
            return Ok(answer);
        }
        let state = self.load(account).await?;
        let kind = match state.phase {
            ApplicationPhase::Stopped => return Err(Error::ElicenceStopped),
            ApplicationPhase::AwaitingPhoto | ApplicationPhase::UnderReview => {
                ReviewKind::Application
            }
            ApplicationPhase::Issued => ReviewKind::PhotoChange,
            ApplicationPhase::NotApplied | ApplicationPhase::ReapplyNeeded => {
                return Err(Error::InvalidState("apply for the e-licence first"));
            }
        };
        if kind == ReviewKind::PhotoChange
            && let Some(secs) = self.busy()
        {
            return Err(Error::Busy {
                retry_after: u64::from(secs),
            });
        }
        let photo_id = random::id();
        let deadline = review_deadline(now);
        let client_key = p.client_key.clone();
        let result = self
            .store
            .update_driver(
                account,
                Box::new(move |s| {
                    let mut effects = Effects::default();
                    if let Some(old) = s.pending_review.take() {
                        effects.photo_decisions.push(PhotoDecision {
                            photo_id: old.photo_id,
                            status: PhotoStatus::Withdrawn,
                            decided_at: now,
                        });
                    }
                    s.pending_review = Some(ReviewPending {
                        photo_id,
                        submitted_at: now,
                        deadline,
                    });
                    if s.phase == ApplicationPhase::AwaitingPhoto {
                        s.phase = ApplicationPhase::UnderReview;
                    }
                    effects.new_photo = Some(PhotoRow {
                        id: photo_id,
                        driver_id: s.id,
                        client_key: Some(client_key),
                        digest,
                        bytes,
                        kind,
                        status: PhotoStatus::Pending,
                        submitted_at: now,
                        deadline,
                    });
                    Ok(effects)
                }),
            )
            .await;
        match result {
            Ok(state) => Ok(PhotoAccepted {
                photo_id,
                deadline,
                application: application_view(&state),
            }),
            // Two uploads with one key raced: answer as the one that won.
            Err(Error::Store(StoreError::Conflict(_))) => self
                .repeated_upload(account, &p.client_key, digest)
                .await?
                .ok_or(Error::IdempotencyConflict),
            Err(e) => Err(e),
        }
    }

    async fn repeated_upload(
        &self,
        account: DriverId,
        client_key: &str,
        digest: [u8; 32],
    ) -> Result<Option<PhotoAccepted>> {
        let Some(existing) = self.store.photo_by_client_key(account, client_key).await? else {
            return Ok(None);
        };
        if !ct_eq(&existing.digest, &digest) {
            return Err(Error::IdempotencyConflict);
        }
        let state = self.load(account).await?;
        Ok(Some(PhotoAccepted {
            photo_id: existing.id,
            deadline: existing.deadline,
            application: application_view(&state),
        }))
    }

    /// Everything that changed since `cursor`.
    pub async fn sync(&self, account: DriverId, cursor: u64) -> Result<SyncResponse> {
        let now = self.now();
        self.refresh_credential(account, now).await?;
        let mut snap = self
            .store
            .sync(account, cursor, SYNC_PAGE)
            .await?
            .ok_or(Error::UnknownId("driver"))?;
        let mut cursor = cursor;
        if cursor > snap.seq {
            // A cursor from the future (a restored phone, a reset server): start over.
            cursor = 0;
            snap = self
                .store
                .sync(account, 0, SYNC_PAGE)
                .await?
                .ok_or(Error::UnknownId("driver"))?;
        }
        let s = &snap.state;
        let more = snap.feed.len() > SYNC_PAGE as usize;
        snap.feed.truncate(SYNC_PAGE as usize);
        let next = if more {
            snap.feed.last().map(|r| r.seq).unwrap_or(cursor)
        } else {
            snap.seq
        };
        let photo = match &s.photo {
            Some(p) if s.versions.photo > cursor => {
                self.store.photo(p.photo_id).await?.map(|r| Base64(r.bytes))
            }
            _ => None,
        };
        let mut reviews = Vec::new();
        let mut messages: Vec<FeedMessage> = Vec::new();
        let mut verifications = Vec::new();
        for row in snap.feed {
            match row.event {
                FeedEvent::Message(m) => messages.push(m),
                FeedEvent::Review(r) => reviews.push(r),
                FeedEvent::Verification { entry, .. } => verifications.push(entry),
            }
        }
        Ok(SyncResponse {
            cursor: next,
            more,
            server_time: now,
            licence: (s.versions.licence > cursor).then(|| live_licence(&s.licence, now)),
            photo,
            elicence: s
                .elicence
                .as_ref()
                .filter(|_| s.versions.elicence > cursor)
                .map(|e| {
                    let active = e.state == ElicenceState::Active;
                    ElicenceUpdate {
                        elicence_id: ElicenceId(e.id),
                        state: e.state,
                        credential: active.then(|| e.credential.clone()),
                        totp_seed: active.then(|| Base64(e.seed.0.to_vec())),
                        issued_at: e.issued_at,
                        expires_at: e.expires_at,
                    }
                }),
            application: (s.versions.application > cursor).then(|| application_view(s)),
            reviews,
            messages,
            verifications,
        })
    }

    /// Re-signs a credential past half its life (or signed by a retired key), so the
    /// wallet always holds one that verifies offline.
    async fn refresh_credential(&self, account: DriverId, now: u64) -> Result<()> {
        let state = self.load(account).await?;
        let keys = self.keys.current();
        let Some(e) = &state.elicence else {
            return Ok(());
        };
        let half_life = (e.expires_at.saturating_sub(e.issued_at)) / 2;
        let stale = now >= e.issued_at + half_life || e.kid != keys.issuer.kid().0;
        if e.state != ElicenceState::Active || !stale {
            return Ok(());
        }
        let ttl = self.ttl();
        self.store
            .update_driver(
                account,
                Box::new(move |s| {
                    reissue(s, &keys, now, ttl)?;
                    Ok(Effects::default())
                }),
            )
            .await?;
        Ok(())
    }

    // ---- verification ----

    /// Online verification by `verifier`.
    pub async fn verify(
        &self,
        verifier: &VerifierRow,
        req: VerifyRequest,
    ) -> Result<VerifyResponse> {
        let now = self.now();
        let method = req.method();
        let check = match &req {
            VerifyRequest::Qr { payload } => OnlineCheck::from_qr(payload.as_bytes()),
            VerifyRequest::Barcode { text } => OnlineCheck::from_barcode(text),
            VerifyRequest::Manual {
                licence_number,
                code,
            } => OnlineCheck::from_manual(licence_number, code),
        }
        .map_err(|e| Error::BadRequest(format!("unreadable code: {e}")))?;
        let audience = check.audience().narrower(verifier.class.audience());

        // Which e-licence, and whose: (e-licence id, driver, its seed and state).
        type Target = (u64, u64, [u8; 32], ElicenceState);
        let (driver_id, target): (Option<u64>, Option<Target>) = match &check {
            OnlineCheck::Code { id, .. } => match self.store.elicence(id.0).await? {
                Some(r) => (
                    Some(r.driver_id),
                    Some((id.0, r.driver_id, r.seed, r.state)),
                ),
                None => (None, None),
            },
            OnlineCheck::Manual { licence_number, .. } => {
                match self.store.driver_by_licence_number(licence_number).await? {
                    Some(d) => (
                        Some(d.id),
                        d.elicence.as_ref().map(|e| (e.id, d.id, e.seed.0, e.state)),
                    ),
                    None => (None, None),
                }
            }
        };
        let log = |outcome: CheckOutcome| VerificationLogEntry {
            at: now,
            verifier: verifier.name.clone(),
            verifier_class: verifier.class,
            audience,
            method,
            outcome,
        };

        if let Err(locked) = self.limiter.check(verifier.id, driver_id, now) {
            if let (Some(d), true) = (driver_id, locked.first_refusal) {
                self.store
                    .log_verification(d, verifier.id, log(CheckOutcome::LockedOut))
                    .await?;
            }
            return Err(Error::LockedOut {
                retry_after: locked.retry_after,
            });
        }
        let Some((elicence_id, driver_id, seed, state)) = target else {
            // Unknown ids count against the verifier: probing ids is guessing too.
            self.limiter.fail(verifier.id, driver_id, now);
            return Err(Error::UnknownId("e-licence"));
        };
        if check_code(&TotpSeed::from_bytes(seed), &check, now).is_err() {
            self.limiter.fail(verifier.id, Some(driver_id), now);
            self.store
                .log_verification(driver_id, verifier.id, log(CheckOutcome::WrongCode))
                .await?;
            return Err(Error::CodeRejected);
        }
        self.limiter.succeed(verifier.id, driver_id);
        match state {
            ElicenceState::Active => {}
            ElicenceState::Superseded | ElicenceState::Stopped => {
                self.store
                    .log_verification(driver_id, verifier.id, log(CheckOutcome::NotCurrent))
                    .await?;
                return Err(if state == ElicenceState::Stopped {
                    Error::ElicenceStopped
                } else {
                    Error::ElicenceSuperseded
                });
            }
        }
        let driver = self.load(driver_id).await?;
        // The aggregate is the truth: the e-licence table row may lag a change that is
        // being committed right now.
        if driver.elicence.as_ref().map(|e| (e.id, e.state))
            != Some((elicence_id, ElicenceState::Active))
        {
            return Err(Error::ElicenceSuperseded);
        }
        let licence = live_licence(&driver.licence, now);
        let photo = match &driver.photo {
            Some(p) => self
                .store
                .photo(p.photo_id)
                .await?
                .map(|r| r.bytes)
                .ok_or(StoreError::Corrupt("photo on file"))?,
            None => return Err(StoreError::Corrupt("active e-licence without photo").into()),
        };
        let status = licence.main.status;
        let in_force = e_licence_eligibility(&status, licence.main.valid_until, china_date(now));
        let view = match audience {
            Audience::Enforcement => LiveView::Enforcement {
                licence: licence.clone(),
            },
            Audience::Business => LiveView::Business {
                qualification: BusinessQualification {
                    name: licence.main.name.clone(),
                    masked_number: licence.masked_number(),
                    classes: licence.main.classes,
                    valid_from: licence.main.valid_from,
                    valid_until: licence.main.valid_until,
                    status,
                    photo_digest: licence.main.photo_digest,
                },
            },
        };
        self.store
            .log_verification(driver_id, verifier.id, log(CheckOutcome::Verified))
            .await?;
        Ok(VerifyResponse {
            elicence_id: ElicenceId(elicence_id),
            checked_at: now,
            in_force: in_force.is_ok(),
            not_in_force_reason: in_force.err(),
            status_colour: status.colour(),
            view,
            photo: Base64(photo),
        })
    }
}
