//! Store errors: what callers branch on, never the SQL text.

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or belongs to another organization (the two are
    /// indistinguishable on purpose: a tenant learns nothing about another's ids).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A uniqueness rule would be broken (e.g. a station name already used in the org).
    #[error("{what} already exists")]
    Conflict { what: String },
    /// The change is valid on its own but the current state forbids it (e.g. removing an
    /// organization's last owner).
    #[error("{0}")]
    Refused(String),
    /// A value is outside what the schema accepts (a CHECK constraint or a field rule).
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The database failed (connection lost, migration failed, ...). The message is
    /// the driver's summary, without the statement.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound { what, id: id.to_string() }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_owned(), reason: reason.into() }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::Database(db) => {
                let message = db.message().to_owned();
                let constraint = db.constraint().map(str::to_owned);
                match db.kind() {
                    ErrorKind::UniqueViolation => {
                        Self::Conflict { what: unique_target(constraint.as_deref(), &message) }
                    }
                    ErrorKind::CheckViolation => Self::Invalid {
                        field: check_field(constraint.as_deref(), &message),
                        reason: "out of range".into(),
                    },
                    ErrorKind::ForeignKeyViolation => Self::Invalid {
                        field: constraint.unwrap_or_else(|| "reference".into()),
                        reason: "refers to a row that does not exist".into(),
                    },
                    ErrorKind::NotNullViolation => Self::Invalid { field: message, reason: "is required".into() },
                    _ => Self::Database(format!("{} ({})", message, db.code().unwrap_or_default())),
                }
            }
            sqlx::Error::RowNotFound => Self::NotFound { what: "row", id: String::new() },
            other => Self::Database(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Database(format!("migration failed: {e}"))
    }
}

/// What a UNIQUE violation is about: PostgreSQL names the constraint
/// (`stations_org_id_name_key`), SQLite the columns
/// (`UNIQUE constraint failed: stations.org_id, stations.name`).
fn unique_target(constraint: Option<&str>, message: &str) -> String {
    if let Some(c) = constraint {
        return c.trim_end_matches("_key").trim_end_matches("_pkey").to_owned();
    }
    let Some((_, cols)) = message.split_once("failed: ") else { return message.to_owned() };
    let mut table = "";
    let columns: Vec<&str> = cols
        .split(", ")
        .map(|c| match c.split_once('.') {
            Some((t, c)) => {
                table = t;
                c
            }
            None => c,
        })
        .collect();
    format!("{table}_{}", columns.join("_"))
}

/// The column a CHECK violation is about: PostgreSQL names the constraint
/// (`stations_lat_deg_check`), SQLite quotes the expression
/// (`CHECK constraint failed: lat_deg BETWEEN -90 AND 90`).
fn check_field(constraint: Option<&str>, message: &str) -> String {
    if let Some(c) = constraint {
        return column_of_constraint(c);
    }
    let expr = message.split_once("failed: ").map_or(message, |(_, e)| e);
    let ident: String = expr
        .trim_start_matches(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .chars()
        .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
        .collect();
    // A named constraint (`stations_az_limits_check`) reads like PostgreSQL's.
    if ident.ends_with("_check") {
        return column_of_constraint(&ident);
    }
    // `length(name) ...` names the function; the column is inside it.
    if ident == "length" {
        return expr.split_once('(').and_then(|(_, r)| r.split_once(')')).map_or(ident, |(c, _)| c.to_owned());
    }
    ident
}

/// `stations_lat_deg_check` -> `lat_deg`; `element_sets_norad_id_check` -> `norad_id`.
fn column_of_constraint(constraint: &str) -> String {
    const TABLES: &[&str] = &[
        "organizations_",
        "users_",
        "memberships_",
        "api_keys_",
        "stations_",
        "element_sets_",
        "transmitters_",
        "campaigns_",
        "assignments_",
        "audit_log_",
    ];
    let c = constraint.trim_end_matches(|ch: char| ch.is_ascii_digit()).trim_end_matches("_check");
    TABLES.iter().find_map(|t| c.strip_prefix(t)).unwrap_or(c).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_field_is_read_from_either_backend() {
        assert_eq!(check_field(Some("stations_lat_deg_check"), ""), "lat_deg");
        assert_eq!(check_field(None, "CHECK constraint failed: lat_deg BETWEEN -90 AND 90"), "lat_deg");
        assert_eq!(check_field(None, "CHECK constraint failed: length(name) BETWEEN 1 AND 200"), "name");
        assert_eq!(check_field(Some("element_sets_norad_id_check"), ""), "norad_id");
        assert_eq!(check_field(None, "CHECK constraint failed: stations_az_limits_check"), "az_limits");
    }

    #[test]
    fn unique_target_is_read_from_either_backend() {
        assert_eq!(unique_target(Some("stations_org_id_name_key"), ""), "stations_org_id_name");
        assert_eq!(
            unique_target(None, "UNIQUE constraint failed: stations.org_id, stations.name"),
            "stations_org_id_name"
        );
    }
}
