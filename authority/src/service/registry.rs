//! The registry's admin operations: drivers and their licences, violations, status,
//! renewal, activation codes and counter issuance.

use edl_core::crypto::sha256;
use edl_core::licence::{Licence, LicenceStatus, MainPage, PointsCycle, SupplementaryPage};
use edl_core::verify::china_date;
use edl_core::wire::{
    ActivationCode, CounterIssue, DriverCreated, DriverDetail, NewDriver, NewViolation, Renewal,
    ReviewKind,
};
use tracing::instrument;

use super::{App, detail, photo_bytes, signing, text};
use crate::domain::check_issuable;
use crate::domain::rules::{self, CounterPhoto};
use crate::error::{Error, Result};
use crate::random;
use crate::store::{
    Activation, Bytes32, DriverId, DriverState, PhotoOnFile, PhotoRow, PhotoStatus, StoreError,
};

fn datetime(now: u64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

impl App {
    /// Registers a driver and their licence.
    #[instrument(skip_all)]
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
            Ok(driver_id) => {
                tracing::info!(driver = driver_id, "driver registered");
                Ok(DriverCreated { driver_id })
            }
            Err(StoreError::Conflict(_)) => Err(Error::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }

    /// One driver.
    #[instrument(skip(self))]
    pub async fn driver(&self, id: DriverId) -> Result<DriverDetail> {
        Ok(detail(&self.load(id).await?))
    }

    /// A new one-time activation code (replaces any earlier one).
    #[instrument(skip(self))]
    pub async fn activation_code(&self, id: DriverId) -> Result<ActivationCode> {
        let now = self.now();
        let code = random::digits(8);
        let expires_at = now + self.config.activation_ttl;
        let activation = Activation {
            code_hash: Bytes32(sha256(code.as_bytes())),
            expires_at,
            attempts: 0,
        };
        self.store
            .update_driver(
                id,
                Box::new(move |s| Ok(rules::set_activation(s, activation))),
            )
            .await?;
        tracing::info!("activation code issued");
        Ok(ActivationCode { code, expires_at })
    }

    /// Records a violation; taking its cycle to 12 points sets B (超分; `rules`).
    #[instrument(skip(self, v))]
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
        let keys = self.signing_keys().await?;
        let ttl = self.ttl();
        let state = self
            .store
            .update_driver(
                id,
                Box::new(move |s| rules::record_violation(s, v, signing(&keys, now, ttl))),
            )
            .await?;
        tracing::info!("violation recorded");
        Ok(detail(&state))
    }

    /// Sets the status letters.
    #[instrument(skip(self, status))]
    pub async fn set_status(&self, id: DriverId, status: LicenceStatus) -> Result<DriverDetail> {
        let now = self.now();
        let keys = self.signing_keys().await?;
        let ttl = self.ttl();
        let state = self
            .store
            .update_driver(
                id,
                Box::new(move |s| rules::set_status(s, status, signing(&keys, now, ttl))),
            )
            .await?;
        tracing::info!("status changed");
        Ok(detail(&state))
    }

    /// Renews the licence: the current e-licence stops verifying at once.
    #[instrument(skip(self, r))]
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
            .update_driver(id, Box::new(move |s| rules::renew(s, r, now)))
            .await?;
        tracing::info!("licence renewed");
        Ok(detail(&state))
    }

    /// Counter issuance: the e-licence goes to the enrolled app account.
    #[instrument(skip(self, c))]
    pub async fn counter_issue(&self, id: DriverId, c: CounterIssue) -> Result<DriverDetail> {
        let now = self.now();
        let photo = c
            .photo
            .as_ref()
            .map(photo_bytes)
            .transpose()?
            .map(|(digest, bytes)| CounterPhoto {
                photo_id: random::id(),
                digest,
                bytes,
            });
        let keys = self.signing_keys().await?;
        let ttl = self.ttl();
        let state = self
            .update_issuing(id, move |s, new| {
                rules::counter_issue(s, photo.clone(), new, signing(&keys, now, ttl))
            })
            .await?;
        tracing::info!("e-licence issued at a counter");
        Ok(detail(&state))
    }
}
