/// Integer arithmetic on sizes and indices read from outside (configurations, file headers): nil on overflow
/// instead of a trap, so a hostile number becomes a typed error where the caller checks the result.
enum CheckedSize {
    /// The sum of `values`, nil when it overflows `Int`.
    static func sum(_ values: Int...) -> Int? {
        var total = 0
        for v in values {
            let (next, overflow) = total.addingReportingOverflow(v)
            if overflow { return nil }
            total = next
        }
        return total
    }

    /// The product of `values`, nil when it overflows `Int`.
    static func product(_ values: Int...) -> Int? {
        var total = 1
        for v in values {
            let (next, overflow) = total.multipliedReportingOverflow(by: v)
            if overflow { return nil }
            total = next
        }
        return total
    }
}
