//! The admin audit log, for the auditor role.

use axum::Json;
use axum::extract::State;
use edl_core::wire::ErrorBody;
use serde::{Deserialize, Serialize};

use super::extract::{Admin, AppState, NoBody, Params};
use crate::error::Result;
use crate::roles::need;

/// Where the audit log is read.
pub const AUDIT: &str = "/admin/audit";

/// Query of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number (default 0: from the start).
    pub after: Option<u64>,
    /// At most this many (1–500, default 100).
    pub limit: Option<u32>,
}

/// One admin call: who, what, when. No personal data: the target is the driver's or the
/// photo's id in the path, never a name or licence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLogEntry {
    /// Its place in the log (strictly increasing).
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    /// The token holder's name.
    pub actor: String,
    /// The role the endpoint needs.
    pub role: String,
    /// Method and route, e.g. `PUT /admin/drivers/{id}/status`.
    pub action: String,
    /// The id in the path, if any.
    pub target: Option<u64>,
    /// Whether the token had the role (a refused call is logged too).
    pub allowed: bool,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLog {
    /// Oldest first.
    pub entries: Vec<AuditLogEntry>,
}

/// The admin audit log, oldest first (auditor role).
#[utoipa::path(get, path = AUDIT, tag = "admin", security(("admin_token" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditLog), (status = "4XX", body = ErrorBody)))]
pub async fn audit(
    _: Admin<need::Auditor>,
    State(app): State<AppState>,
    Params(q): Params<AuditQuery>,
    _: NoBody,
) -> Result<Json<AuditLog>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let records = app.store.audit_log(q.after.unwrap_or(0), limit).await?;
    Ok(Json(AuditLog {
        entries: records
            .into_iter()
            .map(|r| AuditLogEntry {
                seq: r.seq,
                at: r.entry.at,
                actor: r.entry.actor,
                role: r.entry.role,
                action: r.entry.action,
                target: r.entry.target,
                allowed: r.entry.allowed,
            })
            .collect(),
    }))
}
