//! Logging: JSON in production, readable text in development; ids only, never content.
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::TelemetrySettings;

/// Installs the global subscriber once; later calls (tests spawning several apps) are no-ops.
pub fn init(settings: &TelemetrySettings) {
    let filter = EnvFilter::try_from_env("WAVAULT_LOG")
        .or_else(|_| EnvFilter::try_new(&settings.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let _ = if settings.log_format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
