//! Online verification: a verifier's QR, barcode or manual code checked against the
//! e-licence's seed, under the failed-check limits, and logged in the driver's feed.

use std::sync::Arc;

use edl_core::credential::{Audience, ElicenceId};
use edl_core::crypto::TotpSeed;
use edl_core::licence::e_licence_eligibility;
use edl_core::present::Window;
use edl_core::verify::{OnlineCheck, check_code, china_date, past_window};
use edl_core::wire::{
    BusinessQualification, CheckOutcome, ElicenceState, LiveView, VerificationLogEntry,
    VerifyRequest, VerifyResponse,
};

use super::{App, to_the_end};
use crate::domain::live_licence;
use crate::error::{Error, Result};
use crate::guard::{self, Claim};
use crate::limiter::Guess;
use crate::seal::KeyedDigest;
use crate::store::{
    Budget, CheckFailure, DriverId, DriverState, GuessLimits, Refused, SealedSeed, StoreError,
    VerifierRow,
};

/// The limiter's name for a driver's licence, however a check named it.
fn driver_key(driver: DriverId) -> String {
    format!("d:{driver}")
}

/// The limiter's name for a licence number nobody holds: a digest keyed by the KEK, so the
/// table of failures holds no ID-card numbers typed by probers, nor a plain hash that a copy
/// of the database could be searched with (an ID number has few likely values; fourth
/// hostile review, I4; D150).
fn number_key(kek: &dyn KeyedDigest, licence_number: &str) -> String {
    let digest = kek.keyed_digest(b"probed licence number", licence_number.as_bytes());
    format!("n:{}", hex::encode(&digest[..16]))
}

/// A code past its windows that its verifier is sending again ([`App::past_code`]).
enum PastCode {
    /// Shown to this verifier here in time, at `shown`.
    ShownHere { shown: u64 },
    /// Spent by this verifier at `spent_at`, by the database's record.
    SpentBy { spent_at: u64 },
}

/// The e-licence a check names, and its holder.
struct Target {
    elicence_id: u64,
    seed: SealedSeed,
    state: ElicenceState,
    /// The holder's aggregate, read with the e-licence (D115).
    holder: DriverState,
}

impl App {
    /// What a code `check_code` refused is, if it is a past window's that `verifier` may
    /// be sending again: the resend of a check whose answer was lost (or answered 503 at
    /// the request's deadline) comes after the deadline, Retry-After and the app's own
    /// wait, when the code's windows may have ended (D183). Such a resend is that check,
    /// not a wrong code:
    /// - shown to this verifier here in time, within [`guard::REPEAT_SECS`] (its claim on
    ///   its way to the database, answered, or released unanswered; refused as another's
    ///   spend; or its check still reading the e-licence): claimed now as it would have
    ///   been then (seventeenth review, X-F1, X-F2; D188; eighteenth, Y-F1, Y-F3; D189);
    /// - otherwise spent by this verifier within [`guard::REPEAT_SECS`] by the database's
    ///   record (a restart, another process): its repeat (D186).
    ///
    /// The database is asked only when the code matches a past window, so a wrong code
    /// costs no read; and only read, so an expired code is never spent by the asking.
    async fn past_code(
        &self,
        seed: &TotpSeed,
        check: &OnlineCheck,
        verifier: u64,
        now: u64,
        code_of: impl Fn(Window) -> guard::CodeKey,
    ) -> Result<Option<(guard::CodeKey, PastCode)>> {
        let since = now.saturating_sub(guard::REPEAT_SECS);
        let Some(window) = past_window(seed, check, now, since) else {
            return Ok(None);
        };
        let code = code_of(window);
        if let Some(shown) = self.spent.shown_in_time(code, verifier, now) {
            return Ok(Some((code, PastCode::ShownHere { shown })));
        }
        // The same digits from this verifier, in a check still running here that began
        // while they were right (reading the e-licence, not yet claimed): that check.
        if let Some(began) = self.spent.in_flight_since(verifier, check)
            && now <= began.saturating_add(guard::REPEAT_SECS)
            && check_code(seed, check, began).is_ok_and(|w| code_of(w) == code)
        {
            return Ok(Some((code, PastCode::ShownHere { shown: began })));
        }
        let Some((spender, spent_at)) = self.store.code_spender(code).await? else {
            return Ok(None);
        };
        Ok(match Claim::on_spent(spender, spent_at, verifier, now) {
            Claim::Repeat { spent_at } => Some((code, PastCode::SpentBy { spent_at })),
            Claim::Fresh | Claim::Spent { .. } => None,
        })
    }

    /// Counts `guess` as a failure here, stores it (and its log entry) if the limits every
    /// process shares leave room for it (D163), then takes in the failures every authority
    /// process stored on its target and by its verifier (D158), so this process refuses
    /// the next ones itself. A read that fails leaves this process's own count as it was,
    /// and the answer stands.
    ///
    /// The failure is counted here before it is stored, so that this process's count never
    /// falls behind the store's copy of its own failures: the read-back takes the stored
    /// list when it is longer, and a failure stored but not yet counted would then be
    /// counted twice, refusing honest checks early. When the store refuses it, it is taken
    /// back, and the limit that refused it is held instead until its end.
    ///
    /// Once counted here, the rest runs to its end even if the request is dropped meanwhile
    /// (its deadline, its client gone): the store decides a refusal, and the driver is told
    /// of a lock-out whatever became of the request that met it (fifteenth review, V-F2).
    async fn record_failure(
        self: &Arc<Self>,
        guess: Guess<'_>,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
        limits: GuessLimits,
    ) -> Result<()> {
        guess.fail(failure.at);
        let app = Arc::clone(self);
        to_the_end(async move { app.store_failure(failure, log, limits).await }).await
    }

    /// [`App::record_failure`] past this process's count.
    async fn store_failure(
        &self,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
        limits: GuessLimits,
    ) -> Result<()> {
        let (check, holder) = (failure.clone(), log.clone());
        let (verifier, target, at) = (check.verifier_id, &check.target, check.at);
        let refused = match self.store.record_check_failure(failure, log, limits).await {
            Err(StoreError::OverBudget(refused)) => {
                // Stored nowhere: not a failure here either (fourth review, K-F1).
                self.limiter.unfail(verifier, target, at);
                Some(refused)
            }
            // Any other failure (the database away, a write refused while it holds a
            // commit) keeps the failure counted here: fewer guesses, never more.
            other => {
                other?;
                None
            }
        };
        self.observe_failures(verifier, target, at).await;
        match refused {
            Some(refused) => Err(self.refused_by_store(refused, &check, holder).await?),
            None => Ok(()),
        }
    }

    /// A check the store refused (D163): the same answer as a lock-out here, and this
    /// process holds the limit that refused it until then, so the next checks it refuses
    /// are refused here without asking the store (its writer is every check's). The first
    /// such refusal here of a lock-out is logged for the driver, as the first refusal in
    /// memory is (D80, D166): `holder` as in [`App::tell_lock_out`].
    async fn refused_by_store(
        &self,
        refused: Refused,
        check: &CheckFailure,
        holder: Option<(DriverId, VerificationLogEntry)>,
    ) -> Result<Error> {
        let (retry_after, now) = (refused.retry_after, check.at);
        let first = self.limiter.hold(
            check.verifier_id,
            &check.target,
            refused.verifier,
            now,
            now + retry_after,
        );
        if let Err(e) = self.tell_lock_out(first, check.verifier_id, holder).await {
            if first {
                // Not logged: the next refusal is the first (S-F2).
                self.limiter
                    .untell_hold(check.verifier_id, &check.target, refused.verifier);
            }
            return Err(e);
        }
        tracing::warn!(
            retry_after,
            "online check refused: a shared limit is reached"
        );
        Ok(Error::LockedOut { retry_after })
    }

    /// Logs the `first` of a lock-out in this process for the checked licence's driver
    /// (D80, D166), then counts the refusal: `holder` is that driver, if any, with the
    /// check's log entry, logged with the outcome `LockedOut`. A log entry that cannot be
    /// written fails the answer (503), and the refusal is not counted: the caller takes
    /// the telling back, so the next refusal is logged (S-F2).
    async fn tell_lock_out(
        &self,
        first: bool,
        verifier_id: u64,
        holder: Option<(DriverId, VerificationLogEntry)>,
    ) -> Result<()> {
        if let (true, Some((driver, mut entry))) = (first, holder) {
            entry.outcome = CheckOutcome::LockedOut;
            self.store
                .log_verification(driver, verifier_id, entry, None, None)
                .await?;
        }
        self.metrics.locked_out(first);
        Ok(())
    }

    /// `Err(LockedOut)` if the failures every process stored leave no room under `limits`
    /// for `check` (D163), read outside any write: for the answers that are decided
    /// without the store's write. `holder` as in `refused_by_store`.
    async fn refuse_past_limits(
        self: &Arc<Self>,
        check: &CheckFailure,
        limits: &GuessLimits,
        holder: (DriverId, VerificationLogEntry),
    ) -> Result<()> {
        let (verifier, target, now) = (check.verifier_id, &check.target, check.at);
        let stored = self
            .store
            .recent_check_failures(verifier, target, now.saturating_sub(limits.memory()))
            .await?;
        match limits.refusal(&stored.on_target, &stored.by_verifier, now) {
            Some(refused) => {
                let (app, check) = (Arc::clone(self), check.clone());
                Err(to_the_end(
                    async move { app.refused_by_store(refused, &check, Some(holder)).await },
                )
                .await?)
            }
            None => Ok(()),
        }
    }

    /// Takes in the failures every process stored on `target` and by `verifier` (D158).
    async fn observe_failures(&self, verifier: u64, target: &str, at: u64) {
        let since = at.saturating_sub(self.limiter.window());
        match self
            .store
            .recent_check_failures(verifier, target, since)
            .await
        {
            Ok(recent) => self.limiter.observe(verifier, target, &recent, at),
            Err(e) => tracing::warn!(error = %e, "the other processes' failures were not read"),
        }
    }

    /// Online verification by `verifier`.
    #[tracing::instrument(skip_all, fields(verifier = verifier.id, method = tracing::field::Empty))]
    pub async fn verify(
        self: &Arc<Self>,
        verifier: &VerifierRow,
        req: VerifyRequest,
    ) -> Result<VerifyResponse> {
        let now = self.now();
        let method = req.method();
        tracing::Span::current().record("method", tracing::field::debug(&method));
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
        // From here until it is answered or dropped, a resend of this check's digits by
        // this verifier is checked at this check's time (D189).
        let _in_flight = self.spent.begin_check(verifier.id, &check, now);

        // Which e-licence, and whose: the e-licence row (id, seed, state) and its holder's
        // aggregate, read in one snapshot (D115), under the limiter's name for what the
        // check named (`limiter.rs`).
        let (key, target): (String, Option<Target>) = match &check {
            OnlineCheck::Code { id, .. } => match self.store.elicence(id.0).await? {
                Some(r) => (
                    driver_key(r.holder.id),
                    Some(Target {
                        elicence_id: id.0,
                        seed: r.seed,
                        state: r.state,
                        holder: r.holder,
                    }),
                ),
                None => (format!("e:{}", id.0), None),
            },
            OnlineCheck::Manual { licence_number, .. } => {
                match self.store.driver_by_licence_number(licence_number).await? {
                    Some(d) => (
                        driver_key(d.id),
                        d.elicence.clone().map(|e| Target {
                            elicence_id: e.id,
                            seed: e.seed,
                            state: e.state,
                            holder: d,
                        }),
                    ),
                    None => (number_key(self.keys.sealer(), licence_number), None),
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

        // Police checks are held to their own limits only: guesses by businesses must
        // not stop a roadside check (D80).
        let shared = verifier.class.audience() != Audience::Enforcement;
        // What the store holds this check to, across every process (D163).
        let limits = self.limiter.guess_limits(shared);
        let guess = match self.limiter.begin(verifier.id, &key, shared, now) {
            Ok(guess) => guess,
            Err(locked) => {
                let holder = target
                    .as_ref()
                    .map(|t| (t.holder.id, log(CheckOutcome::LockedOut)));
                // The telling and its taking back run to their end whatever becomes of this
                // request (sixteenth review, W-F1: a client that hung up while the entry
                // waited left a lock-out told that was never logged).
                let (app, verifier_id) = (Arc::clone(self), verifier.id);
                return Err(to_the_end(async move {
                    if let Err(e) = app
                        .tell_lock_out(locked.first_refusal, verifier_id, holder)
                        .await
                    {
                        if locked.first_refusal {
                            // Not logged: the next refusal is the first (S-F2).
                            app.limiter.untell(verifier_id, &key, shared, now);
                        }
                        return Err(e);
                    }
                    tracing::warn!(
                        retry_after = locked.retry_after,
                        "online check refused: locked out"
                    );
                    Ok(Error::LockedOut {
                        retry_after: locked.retry_after,
                    })
                })
                .await?);
            }
        };
        let failure = CheckFailure {
            verifier_id: verifier.id,
            target: key,
            at: now,
        };
        let Some(Target {
            elicence_id,
            seed,
            state,
            holder: driver,
        }) = target
        else {
            // No such licence number, no e-licence on it, or no such e-licence id: the
            // same answer as a wrong code, counted (durably) like one (D81).
            self.record_failure(guess, failure, None, limits).await?;
            tracing::info!("online check refused: wrong code (nothing by that name)");
            return Err(Error::CodeRejected);
        };
        let driver_id = driver.id;
        let seed = TotpSeed::from_bytes(*self.open_totp(elicence_id, &seed)?);
        let code_of = |window: Window| -> guard::CodeKey {
            (
                elicence_id,
                window.starts_at(),
                check.audience() as u8,
                guard::form(&check),
            )
        };
        // `late`: a code past its windows that this verifier spent within the repeat
        // window by the database's record, sent again: its repeat, from the spend's time
        // (D186). `shown`: when the code was shown to this verifier, what its claim here
        // is made at: now, or for a code past its windows shown here in time, then (D188).
        let (code, late, shown) = match check_code(&seed, &check, now) {
            Ok(window) => (code_of(window), None, now),
            Err(_) => match self
                .past_code(&seed, &check, verifier.id, now, code_of)
                .await?
            {
                Some((code, PastCode::ShownHere { shown })) => (code, None, shown),
                Some((code, PastCode::SpentBy { spent_at })) => (code, Some(spent_at), now),
                None => {
                    let entry = Some((driver_id, log(CheckOutcome::WrongCode)));
                    self.record_failure(guess, failure, entry, limits).await?;
                    tracing::info!("online check refused: wrong code");
                    return Err(Error::CodeRejected);
                }
            },
        };
        // The seed is not held past its code's check.
        drop(seed);
        // A right code: not a failure. Only a check that verifies forgives the pair's
        // failures (below); a spent or superseded code does not (D120).
        guess.right();
        // Answers that tell a right code from a wrong one without the budgeted claim below
        // (a code spent here before, an e-licence no longer current, a late repeat) first
        // ask whether the shared limits are used up, so past them every code gets the same
        // 429 (third review, J-F1, J-F5). A read only, on these rare paths.
        let claimed_here = match late {
            // Spent already, by the database's word: nothing to claim.
            Some(_) => false,
            None => match self.spent.spend(code, verifier.id, shown) {
                Ok(first) => first,
                Err(e) => {
                    // Sent again after its windows ended, it is refused as spent again,
                    // not taken for a wrong code (eighteenth review, Y-F1; D189).
                    self.spent.mark_shown(code, verifier.id, shown);
                    let holder = (driver_id, log(CheckOutcome::LockedOut));
                    self.refuse_past_limits(&failure, &limits, holder).await?;
                    return Err(e);
                }
            },
        };
        match state {
            ElicenceState::Active => {}
            ElicenceState::Superseded | ElicenceState::Stopped => {
                let holder = (driver_id, log(CheckOutcome::LockedOut));
                self.refuse_past_limits(&failure, &limits, holder).await?;
                self.store
                    .log_verification(
                        driver_id,
                        verifier.id,
                        log(CheckOutcome::NotCurrent),
                        None,
                        None,
                    )
                    .await?;
                tracing::info!(state = ?state, "online check refused: not current");
                return Err(if state == ElicenceState::Stopped {
                    Error::ElicenceStopped
                } else {
                    Error::ElicenceSuperseded
                });
            }
        }
        // The aggregate is the truth (both were read in one snapshot, so this holds
        // unless the store is inconsistent).
        if driver.elicence.as_ref().map(|e| (e.id, e.state))
            != Some((elicence_id, ElicenceState::Active))
        {
            return Err(Error::ElicenceSuperseded);
        }
        let licence = live_licence(&driver.licence, now);
        // The photo is not in the answer (D92): this verifier may fetch it by its digest
        // for a few minutes, and nobody else may.
        let photo = match &driver.photo {
            Some(p) => p,
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
        // The durable claim (D106), for a first use and for a repeat alike (D120): refused
        // if the code was spent before a restart or by another authority process on the
        // same database, unless by this verifier just before (its retry after a lost
        // answer, D108); then nothing is logged. A repeat asks too, since the claim it
        // repeats may still be on its way to the database and may yet be refused. The
        // claim is held to the limits every process shares (D163): a right code is not
        // answered once the licence's budget or the verifier's count is used up, however
        // many processes the guesses were spread over.
        let claim = match late {
            Some(spent_at) => {
                // Nothing to write: the spend and its entry are in the database already.
                let holder = (driver_id, log(CheckOutcome::LockedOut));
                self.refuse_past_limits(&failure, &limits, holder).await?;
                tracing::info!("online check answered again: a late repeat");
                Claim::Repeat { spent_at }
            }
            None => {
                let budget = Budget {
                    target: failure.target.clone(),
                    limits,
                };
                // Until the database answers, the claim made here above is pending: if this
                // check ends without that answer (refused, failed, or dropped at the request's
                // deadline), the code is released here and the database decides its next
                // check (D180, D181).
                let pending = claimed_here.then(|| self.spent.pending(code, verifier.id));
                match self
                    .store
                    .log_verification(
                        driver_id,
                        verifier.id,
                        log(CheckOutcome::Verified),
                        Some(code),
                        Some(budget),
                    )
                    .await
                {
                    Ok(claim) => {
                        if let Some(pending) = pending {
                            pending.confirm();
                        }
                        claim
                    }
                    Err(StoreError::OverBudget(refused)) => {
                        drop(pending);
                        // Told to the driver whatever becomes of this request, as a failure's
                        // refusal is (V-F2).
                        let (app, verifier_id) = (Arc::clone(self), verifier.id);
                        let holder = Some((driver_id, log(CheckOutcome::LockedOut)));
                        return Err(to_the_end(async move {
                            app.observe_failures(verifier_id, &failure.target, now)
                                .await;
                            app.refused_by_store(refused, &failure, holder).await
                        })
                        .await?);
                    }
                    // Not claimed: refused while the database holds a commit (D179), rolled
                    // back with a batch that could not begin or commit, or its outcome
                    // unknown. The pending claim is released: the claim was made by nobody
                    // (sent again, by this verifier or another, it is taken; twelfth and
                    // thirteenth reviews, S-F1, T-F1), or it was made, and a repeat by this
                    // verifier is answered while another's is refused (D108).
                    Err(e) => return Err(e.into()),
                }
            }
        };
        match claim {
            Claim::Fresh => self.limiter.forgive(verifier.id, &failure.target, now),
            // This verifier's own repeat, here or after a restart or through another
            // process: answered again, from the first spend's time.
            Claim::Repeat { spent_at } => self.spent.adopt(code, verifier.id, spent_at),
            Claim::Spent { by, at } => {
                self.spent.forfeit(code, by, at, now);
                self.spent.mark_shown(code, verifier.id, shown);
                tracing::info!("online check refused: code spent earlier");
                return Err(Error::AlreadyUsed);
            }
        }
        // Granted only once the code is known to be this verifier's; the answer carries
        // the grant, so any process honours it (D155).
        let photo_grant = crate::grants::grant(
            self.keys.sealer(),
            verifier.id,
            &photo.digest.0,
            photo.photo_id,
            now,
        );
        // Whom it checked is the verification log's (the driver reads it there), not the
        // server log's (fourth hostile review, I3; D149).
        tracing::debug!(
            in_force = in_force.is_ok(),
            audience = ?audience,
            "online check verified"
        );
        Ok(VerifyResponse {
            elicence_id: ElicenceId(elicence_id),
            checked_at: now,
            in_force: in_force.is_ok(),
            not_in_force_reason: in_force.err(),
            status_colour: status.colour(),
            status_label: status.into(),
            view,
            photo_digest: photo.digest.0,
            photo_url: edl_core::wire::paths::photo(&photo.digest.0),
            photo_grant,
        })
    }
}
