@testable import CourierServer
import NIOCore
import Testing

@Suite struct ControlFrameBudgetTests {
    private static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func aBurstPassesThenTheRateRefillsIt() {
        var budget = ControlFrameBudget()
        let burst = Int(ControlFrameBudget.burst)
        let passed = (0..<burst).filter { _ in budget.spend(now: Self.start) }.count
        #expect(passed == burst)
        // The bucket is empty: a token comes back after 1/perSecond.
        let oneToken = TimeAmount.nanoseconds(Int64(1e9 / ControlFrameBudget.perSecond))
        let pauseAfterTheBurst = budget.pause(now: Self.start)
        #expect(pauseAfterTheBurst == oneToken)
        let overTheBurst = budget.spend(now: Self.start)
        #expect(!overTheBurst)
        // The debt of that frame, then a token to spend: two refills.
        let pause = budget.pause(now: Self.start)
        #expect(pause == oneToken * 2)
        let later = Self.start + oneToken * 2
        let pauseLater = budget.pause(now: later)
        let nextPasses = budget.spend(now: later)
        let afterThat = budget.spend(now: later)
        #expect(pauseLater == .zero && nextPasses && !afterThat)
    }

    /// A flood deepens the debt only down to the longest pause.
    @Test func theDebtStopsAtTheLongestPause() {
        var budget = ControlFrameBudget()
        for _ in 0..<100_000 { _ = budget.spend(now: Self.start) }
        let pause = budget.pause(now: Self.start)
        #expect(pause == ControlFrameBudget.longestPause)
        let end = Self.start + ControlFrameBudget.longestPause
        let pauseAtTheEnd = budget.pause(now: end)
        let passes = budget.spend(now: end)
        #expect(pauseAtTheEnd == .zero && passes)
    }
}
