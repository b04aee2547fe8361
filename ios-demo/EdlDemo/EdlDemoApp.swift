import EdlWallet
import SwiftUI

@main
struct EdlDemoApp: App {
    @State private var opening = EdlDemoApp.open()

    var body: some Scene {
        WindowGroup {
            switch opening {
            case .opened(let session):
                ContentView(session: session)
            case .failed(let why):
                // A store that cannot be opened (a locked phone, a full disk, a key the
                // Keychain lost) is a screen that says what to do, not a crash (AL-F4).
                VStack(spacing: 16) {
                    Text(why.zh)
                    Button("重试") { opening = EdlDemoApp.open() }
                }
                .padding()
            }
        }
    }

    /// Loads the face model and opens the wallet in Application Support.
    @MainActor
    private static func open() -> WalletOpening {
        let url = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("edl")
        return openWallet {
            // The face model ships as a resource of the EdlWallet package.
            if let modelURL = EdlWalletResources.faceModelURL {
                try loadFaceModel(model: Data(contentsOf: modelURL))
            }
            return try Wallet(dir: url.path, keys: KeychainKeyStore())
        }
    }
}
