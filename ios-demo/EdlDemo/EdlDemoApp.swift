import EdlWallet
import SwiftUI

@main
struct EdlDemoApp: App {
    @StateObject private var session = EdlDemoApp.openSession()

    var body: some Scene {
        WindowGroup {
            ContentView(session: session)
        }
    }

    /// Loads the face model and opens the wallet in Application Support.
    @MainActor
    private static func openSession() -> WalletSession {
        let url = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("edl")
        do {
            // The face model ships as a resource of the EdlWallet package.
            if let modelURL = EdlWalletResources.faceModelURL {
                try loadFaceModel(model: Data(contentsOf: modelURL))
            }
            return WalletSession(wallet: try Wallet(dir: url.path, keys: KeychainKeyStore()))
        } catch {
            fatalError("the wallet store cannot be opened: \(error)")
        }
    }
}
