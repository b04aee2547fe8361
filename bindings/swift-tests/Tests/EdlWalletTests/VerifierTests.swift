import EdlWallet
import Foundation
import XCTest

/// The offline verifier through the generated Swift, on the committed format vectors.
final class VerifierTests: XCTestCase {
    func testSha256MatchesTheStandardsVectors() {
        XCTAssertEqual(
            Data(Sha256.hash(Array("abc".utf8))).hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            Data(Sha256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))).hex,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // RFC 4231, test case 2.
        XCTAssertEqual(
            Data(Sha256.hmac(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))).hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    func testCoreVersionIsReported() {
        XCTAssertNotNil(coreVersion().range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression))
    }

    func testCommittedBusinessPayloadVerifiesWithTheQualificationOnly() throws {
        let verifier = try Verifier(trustList: Vectors.trustList, audience: .business)
        XCTAssertEqual(verifier.audience(), .business)
        let verified = try verifier.verifyOffline(payload: Vectors.bytes("offline_business"), nowUnix: Vectors.now)
        XCTAssertEqual(verified.audience, .business)
        XCTAssertTrue(verified.windowStartUnix <= Vectors.now && Vectors.now < verified.windowEndUnix)
        // What a business may see is a different Swift type from what the police see.
        guard case let .business(view) = verified.disclosed else {
            return XCTFail("not the business view: \(verified.disclosed)")
        }
        XCTAssertEqual(view.name, "张伟")
        XCTAssertEqual(view.maskedNumber, "1101**********1234")
        XCTAssertEqual(view.classes, "C1")
        XCTAssertEqual(view.classCodes, ["C1"])
        XCTAssertNotNil(view.photoDigestHex.range(of: "^[0-9a-f]{32}$", options: .regularExpression))
        XCTAssertTrue(view.validFrom < view.validUntil)
        XCTAssertEqual(view.status.letters, "A")
        XCTAssertEqual(view.status.colour, .black)
        XCTAssertEqual(view.status.labelZh, "正常")
        XCTAssertEqual(view.status.labelEn, "Normal")
        XCTAssertTrue(view.status.mayDrive)
        XCTAssertTrue(view.issuedAtUnix < Vectors.now && Vectors.now < view.expiresAtUnix)
    }

    func testCommittedEnforcementPayloadVerifiesWithBothPages() throws {
        let verifier = try Verifier(trustList: Vectors.trustList, audience: .enforcement)
        let verified = try verifier.verifyOffline(payload: Vectors.bytes("offline_enforcement"), nowUnix: Vectors.now)
        guard case let .enforcement(view) = verified.disclosed else {
            return XCTFail("not the enforcement view")
        }
        XCTAssertEqual(view.elicenceId.count, 20)
        XCTAssertEqual(view.main.licenceNumber, "110101199003071234")
        XCTAssertEqual(view.main.name, "张伟")
        XCTAssertEqual(view.main.sex, .male)
        XCTAssertEqual(view.main.sexLabelZh, "男")
        XCTAssertTrue(view.main.photoDigestHex.hasPrefix("6ad094cf"))
        XCTAssertEqual(view.main.generatedAtUnix, view.issuedAtUnix)
        let page = view.supplementary
        XCTAssertFalse(page.address.isEmpty)
        XCTAssertFalse(page.issuingAuthority.isEmpty)
        XCTAssertEqual(page.record.count, 2)
        XCTAssertEqual(page.record.map { Int($0.points) }.reduce(0, +), Int(page.cycle.points))
        XCTAssertEqual(page.cycle.limit, 12)
        XCTAssertEqual(page.cycle.remaining, page.cycle.limit - page.cycle.points)
        XCTAssertFalse(page.cycle.reachedLimit)
        XCTAssertEqual(page.classMeanings, [ClassMeaning(code: "C1", meaningZh: "小型汽车", meaningEn: "Small car")])
    }

    func testTextFormVerifiesLikeTheBytes() throws {
        let bytes = Vectors.bytes("offline_business")
        let text = payloadToText(payload: bytes)
        XCTAssertTrue(text.hasPrefix("EDL:"))
        XCTAssertEqual(try payloadFromText(text: text), bytes)
        let verifier = try Verifier(trustList: Vectors.trustList, audience: .business)
        XCTAssertEqual(
            try verifier.verifyOffline(payload: bytes, nowUnix: Vectors.now),
            try verifier.verifyOfflineText(text: " \(text)\n", nowUnix: Vectors.now))
    }

    /// The reasons an app tells its user apart, as a `switch` over `EdlError` would.
    func testRejectionsAreTypedReasonsASwitchCanTellApart() throws {
        let business = try Verifier(trustList: Vectors.trustList, audience: .business)
        var tampered = Vectors.bytes("offline_business")
        tampered[50] ^= 0x01
        XCTAssertEqual(
            assertEdlError(try business.verifyOffline(payload: tampered, nowUnix: Vectors.now)),
            .Rejected(reason: .badIssuerSignature))

        var device = Vectors.bytes("offline_enforcement")
        device[device.count - 1] ^= 0x80
        let police = try Verifier(trustList: Vectors.trustList, audience: .enforcement)
        XCTAssertEqual(
            assertEdlError(try police.verifyOffline(payload: device, nowUnix: Vectors.now)),
            .Rejected(reason: .badDeviceSignature))

        let wrong = assertEdlError(
            try business.verifyOffline(payload: Vectors.bytes("offline_enforcement"), nowUnix: Vectors.now))
        switch wrong {
        case let .Rejected(reason: .wrongAudience(presented, expected)):
            XCTAssertEqual(presented, .enforcement)
            XCTAssertEqual(expected, .business)
        default:
            XCTFail("expected a wrong audience, got \(String(describing: wrong))")
        }
        // Errors are safe to log: no personal data in the description.
        XCTAssertFalse(String(describing: wrong).contains("张伟"))
        XCTAssertFalse((wrong?.localizedDescription ?? "").contains("张伟"))

        XCTAssertEqual(
            assertEdlError(try business.verifyOffline(payload: Vectors.bytes("offline_business"), nowUnix: Vectors.now + 120)),
            .Rejected(reason: .windowExpired))
    }

    func testMalformedInputSurfacesAsTypedMalformedErrors() throws {
        let verifier = try Verifier(trustList: Vectors.trustList, audience: .business)
        guard case .Malformed(what: .payloadText, _) = assertEdlError(
            try verifier.verifyOfflineText(text: "not a payload", nowUnix: Vectors.now))
        else { return XCTFail("not Malformed(payloadText)") }
        guard case .Malformed(what: .payload, _) = assertEdlError(
            try verifier.verifyOffline(payload: Vectors.bytes("online_business"), nowUnix: Vectors.now))
        else { return XCTFail("not Malformed(payload)") }
        guard case .Malformed(what: .trustList, _) = assertEdlError(
            try Verifier(trustList: Data([1, 2, 3]), audience: .business))
        else { return XCTFail("not Malformed(trustList)") }
    }

    func testARenderedQrScansBackToThePayload() throws {
        let payload = Vectors.bytes("offline_business")
        XCTAssertEqual(try scanPng(png: try renderQrPng(payload: payload, modulePx: 4)), [payload])
        guard case .Malformed(what: .image, _) = assertEdlError(try scanPng(png: Data([0x89, 0x50])))
        else { return XCTFail("not Malformed(image)") }
    }

    func testNotEligibleReasonsComeWithTheDriversText() {
        let text = notEligibleText(reason: .suspended)
        XCTAssertTrue(text.zh.contains("暂扣"))
        XCTAssertTrue(text.en.contains("suspended"))
    }

    /// An error made here travels back into the library to be worded.
    func testTheCoreHandsOverTheDisplayTexts() {
        XCTAssertEqual(errorText(error: .Busy(retryAfterSecs: 30)).zh, "服务繁忙，请 30 秒后再试")
        XCTAssertEqual(reviewOutcomeText(outcome: .rejected).en, "Rejected: take or pick another")
        XCTAssertEqual(beijingDateTime(atUnix: 1_795_489_205), "2026-11-24 11:00")
        XCTAssertEqual(validityEndText(validUntil: "9999-12-31").zh, "长期")
        XCTAssertEqual(countdownText(seconds: 27), "0:27")
    }

    /// `Verifier` is `Sendable`: one instance serves a task group without a lock of the app's.
    func testOneVerifierServesManyTasksAtOnce() async throws {
        let verifier = try Verifier.withSkew(trustList: Vectors.trustList, audience: .business, skewSecs: 5)
        XCTAssertEqual(verifier.skewSecs(), 5)
        let business = Vectors.bytes("offline_business"), enforcement = Vectors.bytes("offline_enforcement")
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let payload = i % 2 == 0 ? business : enforcement
                    return (try? verifier.verifyOffline(payload: payload, nowUnix: Vectors.now)) != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(accepted, 32)
    }
}
