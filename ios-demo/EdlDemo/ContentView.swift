import EdlWallet
import SwiftUI

/// Shows the screen the session calls for; the issued e-licence's three pages are tabs.
struct ContentView: View {
    @ObservedObject var session: WalletSession
    @StateObject var enrol: EnrolViewModel
    @StateObject var apply: ApplyViewModel
    @StateObject var photo: PhotoViewModel
    @StateObject var main: MainPageViewModel
    @StateObject var supplementary: SupplementaryViewModel
    @StateObject var messages: MessagesViewModel

    init(session: WalletSession) {
        self.session = session
        _enrol = StateObject(wrappedValue: EnrolViewModel(session: session, authorityUrl: "http://127.0.0.1:8088"))
        // DemoIdentity stands in for the face-verification SDK (see the README).
        _apply = StateObject(wrappedValue: ApplyViewModel(session: session, identity: DemoIdentity(secret: "demo-secret")))
        _photo = StateObject(wrappedValue: PhotoViewModel(session: session))
        _main = StateObject(wrappedValue: MainPageViewModel(session: session))
        _supplementary = StateObject(wrappedValue: SupplementaryViewModel(session: session))
        _messages = StateObject(wrappedValue: MessagesViewModel(session: session))
    }

    var body: some View {
        switch session.screen {
        case .enrol: EnrolView(vm: enrol)
        case .apply: ApplyView(vm: apply).onAppear { apply.reload() }
        case .photo: PhotoView(vm: photo).onAppear { photo.reload() }
        case .main, .supplementary, .messages:
            TabView(selection: Binding(get: { session.screen }, set: { session.open($0) })) {
                MainPageView(vm: main).tabItem { Text("主页") }.tag(Screen.main)
                SupplementaryView(vm: supplementary).tabItem { Text("副页") }.tag(Screen.supplementary)
                MessagesView(vm: messages).tabItem { Text("消息") }.tag(Screen.messages)
            }
        }
    }
}
