//! Business-day arithmetic for the wipe schedule: Monday to Friday, minus configured holidays,
//! counted on UTC calendar dates.
use chrono::{DateTime, Datelike, NaiveDate, Weekday};

pub fn is_business_day(date: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&date)
}

/// The instant `days` business days after `from_ms`: the same UTC time of day on the
/// `days`-th business day after the request's date (the request's own date never counts, so a
/// request on Friday evening for 1 day is due on Monday at the same time). `None` only outside
/// the calendar's range.
pub fn add_business_days(from_ms: i64, days: u32, holidays: &[NaiveDate]) -> Option<i64> {
    let start = DateTime::from_timestamp_millis(from_ms)?;
    let mut date = start.date_naive();
    let mut left = days;
    while left > 0 {
        date = date.succ_opt()?;
        if is_business_day(date, holidays) {
            left -= 1;
        }
    }
    Some(date.and_time(start.time()).and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn friday_evening_plus_seven_is_tuesday_week_after_next() {
        let due = add_business_days(ms("2026-11-06T18:30:00Z"), 7, &[]).unwrap();
        assert_eq!(due, ms("2026-11-17T18:30:00Z"));
        let due = add_business_days(ms("2026-11-06T18:30:00Z"), 1, &[]).unwrap();
        assert_eq!(due, ms("2026-11-09T18:30:00Z"));
    }

    #[test]
    fn weekend_requests_count_from_monday() {
        for sat_or_sun in ["2026-11-07T10:00:00Z", "2026-11-08T10:00:00Z"] {
            let due = add_business_days(ms(sat_or_sun), 1, &[]).unwrap();
            assert_eq!(due, ms("2026-11-09T10:00:00Z"));
        }
    }

    #[test]
    fn holidays_are_skipped_and_weekend_holidays_change_nothing() {
        let holidays = [day("2026-11-09"), day("2026-11-10"), day("2026-11-14")];
        let due = add_business_days(ms("2026-11-06T18:00:00Z"), 7, &holidays).unwrap();
        assert_eq!(due, ms("2026-11-19T18:00:00Z"));
        assert!(!is_business_day(day("2026-11-09"), &holidays));
        assert!(is_business_day(day("2026-11-11"), &holidays));
    }

    #[test]
    fn end_of_year_and_leap_day() {
        let due = add_business_days(ms("2027-12-31T09:00:00Z"), 1, &[day("2028-01-03")]).unwrap();
        assert_eq!(due, ms("2028-01-04T09:00:00Z"));
        let due = add_business_days(ms("2028-02-28T09:00:00Z"), 1, &[]).unwrap();
        assert_eq!(due, ms("2028-02-29T09:00:00Z"));
        assert!(add_business_days(i64::MAX, 1, &[]).is_none());
    }
}
