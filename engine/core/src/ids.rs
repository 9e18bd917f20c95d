//! Identifiers. Newtypes so a station id can never be passed where a NORAD id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest catalog number the 9-digit NORAD space allows.
pub const NORAD_ID_MAX: u32 = 999_999_999;

/// A satellite catalog number (NORAD / USSPACECOM). Up to 9 digits; TLEs carry at most
/// 5 characters (Alpha-5 encodes 100000..=339999), OMM carries the full number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct NoradId(u32);

/// Why a number is not a NORAD catalog id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoradIdError {
    /// Zero is not assigned to any object.
    #[error("NORAD id 0 is not a valid catalog number")]
    Zero,
    /// More than 9 digits.
    #[error("NORAD id {0} has more than 9 digits")]
    TooLarge(u64),
}

impl NoradId {
    /// A catalog number in `1..=999_999_999`.
    pub fn new(id: u64) -> Result<Self, NoradIdError> {
        match id {
            0 => Err(NoradIdError::Zero),
            1..=999_999_999 => Ok(Self(id as u32)),
            _ => Err(NoradIdError::TooLarge(id)),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for NoradId {
    type Error = NoradIdError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        Self::new(u64::from(v))
    }
}

impl From<NoradId> for u32 {
    fn from(v: NoradId) -> u32 {
        v.0
    }
}

impl fmt::Display for NoradId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! plain_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

plain_id!(
    /// A ground station (one antenna site with one rotator and radio).
    StationId
);
plain_id!(
    /// An organization: the tenant that owns stations and campaigns.
    OrgId
);
plain_id!(
    /// A campaign: a satellite to observe, with priority, window and policy.
    CampaignId
);
plain_id!(
    /// An assignment: one station taking part in one campaign.
    AssignmentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norad_id_rejects_zero_and_ten_digits() {
        assert_eq!(NoradId::new(0), Err(NoradIdError::Zero));
        assert_eq!(NoradId::new(1_000_000_000), Err(NoradIdError::TooLarge(1_000_000_000)));
        assert_eq!(NoradId::new(25544).unwrap().get(), 25544);
    }

    #[test]
    fn norad_id_deserialization_is_validated() {
        assert!(serde_json::from_str::<NoradId>("0").is_err());
        assert_eq!(serde_json::from_str::<NoradId>("43017").unwrap().get(), 43017);
    }
}
