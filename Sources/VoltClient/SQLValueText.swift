// How sqlcmd shows values, and the timestamp text both directions.
//
// NULL of any type reads `NULL`; integers as decimal digits; FLOAT as the shortest text that reads
// back as the same double; DECIMAL with exactly 12 fractional digits; VARCHAR as is; VARBINARY as
// upper-case hex; TIMESTAMP (microseconds since 1970-01-01 UTC) as `2024-01-02 03:04:05.000000`,
// in UTC, as sqlcmd prints it with its default time zone set to GMT.
//
// Dates use the proleptic Gregorian calendar (Howard Hinnant's days-from-civil algorithm), so
// every Int64 microsecond count has a text and no Foundation calendar is involved.

import VoltModel

/// Value text as sqlcmd prints it.
public enum SQLValueText {
    public static func render(_ value: Value) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let v): String(v)
        case .float(let v): v.description
        case .decimal(let v): v.description
        case .string(let v): v
        case .bytes: value.description
        case .timestamp(let micros): SQLTimestamp.text(micros: micros)
        }
    }
}

/// TIMESTAMP text: `YYYY-MM-DD HH:MM:SS.ffffff`, UTC.
public enum SQLTimestamp {
    public static func text(micros: Int64) -> String {
        let perDay: Int64 = 86_400_000_000
        let days = micros >= 0 ? micros / perDay : (micros - perDay + 1) / perDay
        let inDay = micros - days * perDay
        let (year, month, day) = civil(fromDays: days)
        let seconds = inDay / 1_000_000
        let fraction = inDay % 1_000_000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) "
            + "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(fraction, 6))"
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS.f…` (up to 6 fractional
    /// digits), UTC; a `T` may separate date and time. Nil for anything else or an impossible date.
    public static func micros(parsing text: String) -> Int64? {
        let s = Array(text.trimmingCharacters().utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= s.count, !range.isEmpty else { return nil }
            var n: Int64 = 0
            for i in range {
                guard s[i] >= UInt8(ascii: "0") && s[i] <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int64(s[i] - UInt8(ascii: "0"))
            }
            return n
        }
        guard s.count >= 10, s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var micros = days(fromCivil: year, month, day) * 86_400_000_000
        guard s.count > 10 else { return micros }
        guard s.count >= 19, s[10] == UInt8(ascii: " ") || s[10] == UInt8(ascii: "T"),
              s[13] == UInt8(ascii: ":"), s[16] == UInt8(ascii: ":"),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              hour < 24, minute < 60, second < 60
        else { return nil }
        micros += ((hour * 60 + minute) * 60 + second) * 1_000_000
        guard s.count > 19 else { return micros }
        guard s[19] == UInt8(ascii: "."), s.count > 20, s.count <= 26, var fraction = number(20..<s.count) else { return nil }
        for _ in s.count..<26 { fraction *= 10 }
        return micros + fraction
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(fromCivil year0: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let year = month <= 2 ? year0 - 1 : year0
        let era = (year >= 0 ? year : year - 399) / 400
        let yoe = year - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func pad(_ n: Int64, _ width: Int) -> String {
        let digits = String(n.magnitude)
        let sign = n < 0 ? "-" : ""
        return sign + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
