import XCTest
@testable import vtp_bench

/// The time-left estimate of progress lines, on hand-made step durations.
final class ProgressClockTests: XCTestCase {
    func testSecondsLeft() {
        XCTAssertNil(ProgressClock.secondsLeft(durations: [], total: 4, period: nil))
        // No repetition: the 3 steps left take the mean of 2 and 4 s each.
        XCTAssertEqual(ProgressClock.secondsLeft(durations: [2, 4], total: 5, period: nil), 9)
        // Cases repeat every 3 steps; steps 0 (12 s) and 1 (3 s) ran. Step 2 has not run yet (mean 7.5 s), steps
        // 3 and 4 repeat steps 0 and 1 (12 s and 3 s), step 5 repeats step 2 (mean again).
        XCTAssertEqual(ProgressClock.secondsLeft(durations: [12, 3], total: 6, period: 3), 7.5 + 12 + 3 + 7.5)
        // Later repetitions take the latest run of their case: steps 4 ... 8 repeat 1, 2, 3, 1, 2.
        XCTAssertEqual(ProgressClock.secondsLeft(durations: [10, 1, 1, 11], total: 9, period: 3), 1 + 1 + 11 + 1 + 1)
        XCTAssertEqual(ProgressClock.secondsLeft(durations: [1, 1], total: 2, period: nil), 0)
    }
}
