import EdlWallet
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// A value many tasks and callback threads touch, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func with<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var get: Value { with { $0 } }
}

/// The committed format vectors (core/tests/vectors/v1.txt): `name = value` lines.
enum Vectors {
    static let values: [String: String] = {
        let path = ProcessInfo.processInfo.environment["EDL_VECTORS"] ?? "EDL_VECTORS not set"
        let text = try! String(contentsOfFile: path, encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let range = line.range(of: " = ") else { continue }
            values[String(line[..<range.lowerBound])] = String(line[range.upperBound...])
        }
        return values
    }()

    static func text(_ name: String) -> String { values[name]! }
    static func bytes(_ name: String) -> Data { Data(hex: text(name)) }
    static var now: UInt64 { UInt64(text("now"))! }
    static var trustList: Data { bytes("trust_list") }
}

extension Data {
    init(hex: String) {
        var bytes = [UInt8]()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// The authority that bindings/test.sh runs on loopback, reached through its admin API with
/// URLSession (the JSON is read with JSONSerialization).
enum Authority {
    static let env = ProcessInfo.processInfo.environment
    static let url = env["EDL_AUTHORITY_URL"] ?? "http://EDL_AUTHORITY_URL-not-set"
    static let token = env["EDL_ADMIN_TOKEN"] ?? ""
    static let identitySecret = Data((env["EDL_IDENTITY_SECRET"] ?? "").utf8)
    static let photoPath = env["EDL_PHOTO"] ?? "EDL_PHOTO not set"
    static let photo = FileManager.default.contents(atPath: photoPath)!
    /// A fixture photo beside the clean one (core/tests/photos/).
    static func fixture(_ name: String) -> Data {
        let dir = URL(fileURLWithPath: photoPath).deletingLastPathComponent()
        return FileManager.default.contents(atPath: dir.appendingPathComponent(name).path)!
    }

    /// As an app does at start-up, from the package's resource (bindings/ios FaceModel.swift):
    /// the library ships without the face model built in.
    static let faceModelLoaded: Void = {
        try! loadFaceModel(model: Data(contentsOf: EdlWalletResources.faceModelURL!))
    }()

    private static let next = Locked(3000)

    /// A fresh licence number (Kotlin uses 9xxx, Python 5xxx and the demo view models 6xxx-7xxx on the same server).
    static func number() -> String {
        let n = next.with { n in n += 1; return n }
        return "11010119900307" + String(n)
    }

    /// One call of the authority's API; admin calls carry the token. Fails unless 200.
    @discardableResult
    static func call(_ method: String, _ path: String, _ body: String? = nil, admin: Bool = true)
        async throws -> [String: Any]
    {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if admin { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.httpBody = body.map { Data($0.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as! HTTPURLResponse).statusCode
        guard status == 200 else {
            throw NSError(domain: "\(method) \(path): \(status) \(String(decoding: data, as: UTF8.self))", code: status)
        }
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// A new driver; with `photoOnFile` the office already holds an approved photo, so
    /// applying issues at once.
    static func createDriver(_ number: String, photoOnFile: Bool = false) async throws -> Int {
        let photoField = photoOnFile ? #","photo":"\#(photo.base64EncodedString())""# : ""
        let body = """
            {"licence_number":"\(number)","name":"李四","sex":"female","nationality":"中国",
             "date_of_birth":"1990-03-07","classes":"C1","first_issue":"2012-03-07",
             "valid_from":"2018-03-07","valid_until":"2036-03-07",
             "address":"上海市黄浦区测试路2号","issuing_authority":"上海市公安局交通警察总队"\(photoField)}
            """
        return try await call("POST", "/admin/drivers", body)["driver_id"] as! Int
    }

    /// A new verifier account of `verifierClass`; returns its API key.
    static func createVerifier(_ name: String, _ verifierClass: String) async throws -> String {
        let body = #"{"name":"\#(name)","class":"\#(verifierClass)"}"#
        return try await call("POST", "/admin/verifiers", body)["api_key"] as! String
    }

    static func activationCode(_ driver: Int) async throws -> String {
        try await call("POST", "/admin/drivers/\(driver)/activation-code")["code"] as! String
    }

    static func approve(_ photoId: UInt64) async throws {
        try await call("POST", "/admin/reviews/\(photoId)/approve")
    }

    static func trustList() async throws -> Data {
        Data(base64Encoded: try await call("GET", "/v1/trust-list", admin: false)["trust_list"] as! String)!
    }

    static func tempDir() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edl-swift-\(UUID())")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }
}

/// The app's key store, in Swift. An iOS app seals the data key with CryptoKit's AES-GCM
/// under a Keychain key (ios-demo/EdlDemo/KeychainKeyStore.swift); Linux has no CryptoKit,
/// so this test stand-in seals with SHA-256 in counter mode and an HMAC-SHA256 tag
/// (encrypt-then-MAC) under a key the test holds. The contract is the same: a blob that
/// does not open throws `EdlError.KeyStore(reason: .wrongKey)`.
final class SealingKeyStore: KeyStore {
    private let key: [UInt8]
    let wraps = Locked(0)
    let unwraps = Locked(0)

    init() {
        var rng = SystemRandomNumberGenerator()
        key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    private func stream(_ nonce: [UInt8], _ count: Int) -> [UInt8] {
        var out = [UInt8]()
        var block: UInt32 = 0
        while out.count < count {
            out += Sha256.hash(Array("enc".utf8) + key + nonce + withUnsafeBytes(of: block.bigEndian) { Array($0) })
            block += 1
        }
        return Array(out.prefix(count))
    }

    private func tag(_ sealed: [UInt8]) -> [UInt8] {
        Sha256.hmac(key: Array("mac".utf8) + key, sealed)
    }

    func wrapKey(plaintext: Data) throws -> Data {
        wraps.with { $0 += 1 }
        var rng = SystemRandomNumberGenerator()
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let sealed = nonce + zip(plaintext, stream(nonce, plaintext.count)).map { $0 ^ $1 }
        return Data(sealed + tag(sealed))
    }

    func unwrapKey(wrapped: Data) throws -> Data {
        unwraps.with { $0 += 1 }
        let bytes = [UInt8](wrapped)
        guard bytes.count >= 16 + 32 else { throw EdlError.KeyStore(reason: .wrongKey) }
        let sealed = Array(bytes.dropLast(32))
        // Compared in full, not stopping at the first difference.
        guard zip(tag(sealed), bytes.suffix(32)).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw EdlError.KeyStore(reason: .wrongKey)
        }
        let nonce = Array(sealed.prefix(16)), body = Array(sealed.dropFirst(16))
        return Data(zip(body, stream(nonce, body.count)).map { $0 ^ $1 })
    }
}

/// A key store that hands back one byte too few of the data key.
final class ShortKeyStore: KeyStore {
    private let inner: SealingKeyStore
    init(_ inner: SealingKeyStore) { self.inner = inner }
    func wrapKey(plaintext: Data) throws -> Data { try inner.wrapKey(plaintext: plaintext) }
    func unwrapKey(wrapped: Data) throws -> Data { try inner.unwrapKey(wrapped: wrapped).dropLast() }
}

/// The authority's test identity provider: HMAC-SHA256(secret, "EDL1/identity\0" ‖
/// challenge ‖ number). A real app calls its face-verification SDK here.
final class HmacIdentityProvider: IdentityProvider {
    func attest(challenge: Data, licenceNumber: String) throws -> Data? {
        let message = Array("EDL1/identity\u{0}".utf8) + [UInt8](challenge) + Array(licenceNumber.utf8)
        return Data(Sha256.hmac(key: [UInt8](Authority.identitySecret), message))
    }
}

/// Every event an observer was handed.
final class Recorder: WalletObserver {
    let events = Locked<[WalletEvent]>([])
    func onEvent(event: WalletEvent) throws { events.with { $0.append(event) } }
}

final class RecordingProgress: UploadProgress {
    let stages = Locked<[UploadStage]>([])
    func onStage(stage: UploadStage, fraction: Float) throws { stages.with { $0.append(stage) } }
}

/// Asserts that `body` throws an `EdlError` and hands it back for a `switch` or `guard case`.
func assertEdlError<T>(
    _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line
) -> EdlError? {
    do {
        _ = try body()
        XCTFail("no error thrown", file: file, line: line)
    } catch let error as EdlError {
        return error
    } catch {
        XCTFail("not an EdlError: \(error)", file: file, line: line)
    }
    return nil
}

/// `assertEdlError` for an async call.
func assertEdlErrorAsync<T>(
    file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> T
) async -> EdlError? {
    do {
        _ = try await body()
        XCTFail("no error thrown", file: file, line: line)
    } catch let error as EdlError {
        return error
    } catch {
        XCTFail("not an EdlError: \(error)", file: file, line: line)
    }
    return nil
}

/// A wallet enrolled for a new driver whose photo is on file, so applying issues at once.
func issuedWallet(keys: KeyStore = SealingKeyStore()) async throws -> (Wallet, String, Int) {
    Authority.faceModelLoaded
    let number = Authority.number()
    let driver = try await Authority.createDriver(number, photoOnFile: true)
    let wallet = try Wallet(dir: Authority.tempDir(), keys: keys)
    try await wallet.enrol(
        authorityUrl: Authority.url, licenceNumber: number,
        activationCode: try await Authority.activationCode(driver))
    let application = try await wallet.apply(provider: HmacIdentityProvider())
    XCTAssertEqual(application.phase, .issued)
    return (wallet, number, driver)
}
