import EdlWallet
import Foundation

/// Owns the wallet and republishes what it reports; holds no rule of its own.
@MainActor
final class WalletModel: ObservableObject {
    let wallet: Wallet
    @Published var presentation: Presentation?
    @Published var status = ""
    /// Bumped on every wallet event, so views re-read the pages and the application.
    @Published var revision = 0
    private var ticker: RotationTicker?

    init() {
        let url = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("edl")
        do {
            // The face model ships as a resource of the EdlWallet package.
            if let modelURL = EdlWalletResources.faceModelURL {
                try loadFaceModel(model: Data(contentsOf: modelURL))
            }
            wallet = try Wallet(dir: url.path, keys: KeychainKeyStore())
        } catch {
            fatalError("the wallet store cannot be opened: \(error)")
        }
        wallet.setObserver(observer: Forwarder(model: self))
    }

    /// Runs a wallet call; a refusal is shown as the core words it (no personal data in it).
    func attempt(_ call: @escaping (Wallet) async throws -> Void) {
        Task {
            do {
                try await call(wallet)
                status = ""
            } catch EdlError.Offline {
                status = "Offline: what is stored still works."
            } catch EdlError.Busy(let retryAfter) {
                status = "Busy: try again in \(retryAfter) s."
            } catch {
                status = "\(error)"
            }
            revision += 1
        }
    }

    func startRotation() {
        ticker?.stop()
        ticker = try? wallet.startRotation(form: .online, audience: .business)
    }

    fileprivate func handle(_ event: WalletEvent) {
        if case .rotation(let p) = event {
            presentation = p
        } else {
            revision += 1
        }
    }
}

/// The observer: events come on a library thread and are handed to the main actor.
private final class Forwarder: WalletObserver, @unchecked Sendable {
    weak var model: WalletModel?
    init(model: WalletModel) { self.model = model }

    func onEvent(event: WalletEvent) {
        Task { @MainActor [weak model] in model?.handle(event) }
    }
}
