//! Doppler correction from range-rate.
//!
//! First-order (non-relativistic) Doppler, as Gpredict and Hamlib users expect; the
//! relativistic term is below 0.3 Hz at 437 MHz for LEO and is ignored.

/// Speed of light, km/s.
pub const SPEED_OF_LIGHT_KM_S: f64 = 299_792.458;

/// Frequency the station receives when the satellite transmits `transmitted_hz`.
/// A receding satellite (`range_rate_km_s > 0`) is heard lower.
pub fn downlink_hz(transmitted_hz: f64, range_rate_km_s: f64) -> f64 {
    transmitted_hz * (1.0 - range_rate_km_s / SPEED_OF_LIGHT_KM_S)
}

/// Frequency the station must transmit so the satellite receives `received_at_satellite_hz`.
pub fn uplink_hz(received_at_satellite_hz: f64, range_rate_km_s: f64) -> f64 {
    received_at_satellite_hz / (1.0 - range_rate_km_s / SPEED_OF_LIGHT_KM_S)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approaching_satellite_is_heard_higher_and_needs_lower_uplink() {
        // ISS approaching at 7 km/s on 145.800 MHz: about +3.4 kHz.
        let rx = downlink_hz(145.8e6, -7.0);
        assert!((rx - 145.8e6 - 3404.4).abs() < 1.0, "{rx}");
        let tx = uplink_hz(437.0e6, -7.0);
        assert!(tx < 437.0e6);
        // Round trip: what we transmit arrives at the satellite on the nominal frequency.
        assert!((downlink_hz(tx, -7.0) - 437.0e6).abs() < 1e-6);
    }
}
