@testable import AetherLive
import XCTest

/// A live client's mailbox holds the newest state, never a queue of summaries.
final class MailboxTests: XCTestCase {
    func testSummariesCoalesceAlertsKeepTheirOrderAndGrowInPlace() async {
        let box = Mailbox()
        for i in 0..<10_000 { box.post(summary: "s\(i)") }
        box.post(alert: 7, "a7 v1")
        box.post(alert: 3, "a3 v1")
        box.post(alert: 7, "a7 v2")
        box.post(end: "end")
        let batch = await box.next()
        XCTAssertEqual(batch, ["a7 v2", "a3 v1", "s9999", "end"])
        XCTAssertEqual(box.coalesced, 9_999)
        box.post(summary: "later")
        let second = await box.next()
        XCTAssertEqual(second, ["later"])
    }

    func testPendingAlertsAreBounded() async {
        let box = Mailbox()
        for i in 0..<(Mailbox.alertLimit + 10) { box.post(alert: Int64(i), "a\(i)") }
        let batch = await box.next() ?? []
        XCTAssertEqual(batch.count, Mailbox.alertLimit)
        XCTAssertEqual(batch.first, "a10")
    }

    func testCloseWakesAWaitingWriter() async {
        let box = Mailbox()
        async let waiting = box.next()
        try? await Task.sleep(for: .milliseconds(50))
        box.close()
        let result = await waiting
        XCTAssertNil(result)
        box.post(summary: "after close")
        let again = await box.next()
        XCTAssertNil(again)
    }

    func testBroadcasterGivesALateClientTheCurrentState() async {
        let b = Broadcaster()
        b.summary("old")
        b.alert(id: 1, "alert one")
        b.summary("new")
        let (id, box) = b.subscribe()
        let batch = await box.next()
        XCTAssertEqual(batch, ["alert one", "new"])
        b.unsubscribe(id)
        let closed = await box.next()
        XCTAssertNil(closed)
    }
}
