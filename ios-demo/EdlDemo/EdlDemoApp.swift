import SwiftUI

@main
struct EdlDemoApp: App {
    @StateObject private var model = WalletModel()

    var body: some Scene {
        WindowGroup {
            ContentView().environmentObject(model)
        }
    }
}
