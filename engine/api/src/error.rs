//! The one error type of the API and its mapping to `(status, {code, message})`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use talos_store::StoreError;

/// Why a request failed. Every handler returns this; [`IntoResponse`] maps it once.
#[derive(Debug)]
pub enum ApiError {
    /// No or unusable credentials.
    Unauthorized,
    /// Login failed (unknown email or wrong password: one answer for both).
    BadCredentials,
    /// A cookie-authenticated mutation without the session's CSRF token.
    CsrfRequired,
    /// Too many login attempts.
    RateLimited,
    /// Authenticated, but the role does not allow this.
    Forbidden,
    /// Missing, or belongs to another organization (indistinguishable on purpose).
    NotFound(String),
    Conflict(String),
    /// Valid on its own, but the current state forbids it (the message says why).
    Refused(String),
    /// A field value the store refused, naming the field.
    Invalid {
        field: String,
        reason: String,
    },
    /// A path or query parameter that does not parse.
    BadRequest {
        code: &'static str,
        message: String,
    },
    /// The body extractor refused the request (syntax, types, unknown field, size, content type).
    Rejected {
        status: StatusCode,
        message: String,
    },
    NotReady(String),
    /// Something broke inside; the detail is logged, never returned.
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    pub(crate) fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid credentials".into()),
            Self::BadCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong email or password".into()),
            Self::CsrfRequired => (
                StatusCode::FORBIDDEN,
                "csrf_required",
                "cookie-authenticated changes need the X-CSRF-Token header".into(),
            ),
            Self::RateLimited => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many login attempts, retry in a minute".into())
            }
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "your role does not allow this".into()),
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", format!("{what} not found")),
            Self::Conflict(what) => (StatusCode::CONFLICT, "conflict", format!("{what} already exists")),
            Self::Refused(why) => (StatusCode::CONFLICT, "refused", why.clone()),
            Self::Invalid { field, reason } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("invalid {field}: {reason}"))
            }
            Self::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            Self::Rejected { status, message } => {
                let code = match *status {
                    StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
                    _ => "bad_json",
                };
                (*status, code, message.clone())
            }
            Self::NotReady(why) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready", why.clone()),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, .. } => Self::NotFound(what.to_owned()),
            StoreError::Conflict { what } => Self::Conflict(what),
            StoreError::Refused(why) => Self::Refused(why),
            StoreError::Invalid { field, reason } => Self::Invalid { field, reason },
            StoreError::Database(detail) => Self::Internal(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let (status, code, message) = self.parts();
        (status, Json(json!({ "code": code, "message": message }))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_do_not_leak() {
        let e = ApiError::from(StoreError::Database("relation secret_table does not exist".into()));
        let (status, code, message) = e.parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(code, "internal");
        assert!(!message.contains("secret_table"));
    }
}
