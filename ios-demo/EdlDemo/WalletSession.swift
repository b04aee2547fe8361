import EdlWallet
import Foundation

/// The screens of the driver's app (android-demo/viewmodels `Screen`).
enum Screen: CaseIterable {
    case enrol, apply, photo, main, supplementary, messages
    /// The tabs of an issued e-licence.
    static let tabs: Set<Screen> = [.main, .supplementary, .messages]
}

/// The one wallet and its one observer, shared by the screens' view models: fans events out
/// and says which screen the application's phase calls for (the Kotlin `WalletSession`).
@MainActor
final class WalletSession: ObservableObject {
    let wallet: Wallet
    @Published private(set) var screen: Screen = .enrol
    private var listeners: [UUID: (WalletEvent) -> Void] = [:]

    init(wallet: Wallet) {
        self.wallet = wallet
        wallet.setObserver(observer: Forwarder(session: self))
        route()
    }

    /// Adds a listener of every wallet event (on the main actor); returns its key for `unlisten`.
    func listen(_ listener: @escaping (WalletEvent) -> Void) -> UUID {
        let key = UUID()
        listeners[key] = listener
        return key
    }

    func unlisten(_ key: UUID) { listeners[key] = nil }

    fileprivate func handle(_ event: WalletEvent) {
        switch event {
        case .applicationChanged, .elicenceChanged: route()
        default: break
        }
        listeners.values.forEach { $0(event) }
    }

    /// Moves to the screen the wallet's state calls for; an issued driver stays on their tab.
    func route() {
        guard (try? wallet.isEnrolled()) == true else { screen = .enrol; return }
        switch (try? wallet.application())?.phase {
        case nil, .notApplied, .reapplyNeeded, .stopped: screen = .apply
        case .awaitingPhoto, .underReview: screen = .photo
        case .issued: if !Screen.tabs.contains(screen) { screen = .main }
        }
    }

    /// Pull to refresh, for every screen: syncs; what to tell the driver when it failed, or
    /// nil. The screen re-reads its state from the store afterwards (offline it still shows
    /// the last sync).
    func sync() async -> LocalizedText? {
        do {
            _ = try await wallet.sync()
            return nil
        } catch {
            return errorShown(error)
        }
    }

    /// Opens one of the issued e-licence's tabs.
    func open(_ tab: Screen) {
        guard Screen.tabs.contains(tab), (try? wallet.application())?.phase == .issued else { return }
        screen = tab
    }
}

/// What to tell the driver after a failed call: the core's `errorText` (D95). An error from
/// outside the library (a cancelled task) reads as the core's general text.
func errorShown(_ error: Error) -> LocalizedText {
    errorText(error: error as? EdlError ?? .Internal(detail: "not a library error"))
}

/// The observer: events come on a library thread and are handed to the main actor.
private final class Forwarder: WalletObserver, @unchecked Sendable {
    weak var session: WalletSession?
    init(session: WalletSession) { self.session = session }

    func onEvent(event: WalletEvent) {
        Task { @MainActor [weak session] in session?.handle(event) }
    }
}

/// What opening the app's one wallet gave (the Kotlin `WalletOpening`): its session, or
/// what to tell the driver, with nothing changed.
enum WalletOpening {
    case opened(WalletSession)
    case failed(LocalizedText)
}

/// Opens the wallet with `open` and its session; a refusal becomes `.failed` with the
/// core's `errorText` (AL-F4: the app stopped at start when the store could not be opened).
@MainActor
func openWallet(_ open: () throws -> Wallet) -> WalletOpening {
    do {
        return .opened(WalletSession(wallet: try open()))
    } catch {
        // The library throws only `EdlError`; anything else is the app's own code.
        return .failed(errorText(error: error as? EdlError ?? .Internal(detail: "")))
    }
}
