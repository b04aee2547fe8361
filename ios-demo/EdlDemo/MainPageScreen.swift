import EdlWallet
import SwiftUI

/// The main page (the Kotlin `MainPageViewModel`): the licence as of the last sync, the live
/// QR the core rotates, its countdown, the barcode and manual code, the audience switch, the
/// status colour and the last-synced time; pull to refresh syncs.
@MainActor
final class MainPageViewModel: ObservableObject {
    @Published private(set) var page: MainPage?
    @Published private(set) var photo: Data?
    @Published private(set) var colour: StatusColour?
    @Published private(set) var audience: Audience = .business
    @Published private(set) var form: PresentationForm = .online
    @Published private(set) var presentation: Presentation?
    @Published private(set) var secondsLeft = 0
    @Published private(set) var code: DynamicCode?
    @Published private(set) var codeSecondsLeft = 0
    @Published private(set) var lastSynced: String?
    @Published private(set) var error: LocalizedText?
    private let session: WalletSession
    private var ticker: RotationTicker?
    private var codeFetchedAt: UInt64 = 0
    private var listener: UUID?

    init(session: WalletSession) {
        self.session = session
        listener = session.listen { [weak self] event in self?.onEvent(event) }
    }

    var countdown: String { countdownText(seconds: UInt32(max(0, secondsLeft))) }

    func start() {
        reload()
        rotate()
    }

    func stop() {
        ticker?.stop()
        ticker = nil
    }

    func setAudience(_ audience: Audience) {
        self.audience = audience
        rotate()
    }

    func setForm(_ form: PresentationForm) {
        self.form = form
        rotate()
    }

    func reload() {
        let w = session.wallet
        page = try? w.mainPage()
        photo = try? w.photo()
        colour = try? w.statusColour()
        lastSynced = (try? w.lastSyncedUnix()).map { beijingTime(atUnix: $0) }
        refreshCode()
    }

    /// Pull to refresh: syncs, then re-reads. Offline, the stored page stays with a notice.
    func refresh() async {
        error = await session.sync()
        reload()
    }

    /// The one-second timer: counts down by the wallet's clock; new codes when theirs run out.
    func tick() {
        guard let now = try? session.wallet.nowUnix() else { return }
        if let code, now >= codeFetchedAt + UInt64(min(code.secondsLeft, code.manualSecondsLeft)) { refreshCode() }
        secondsLeft = presentation.map { max(0, Int($0.windowEndUnix) - Int(now)) } ?? 0
        codeSecondsLeft = code.map { max(0, Int(codeFetchedAt) + Int($0.manualSecondsLeft) - Int(now)) } ?? 0
    }

    private func rotate() {
        ticker?.stop()
        do {
            ticker = try session.wallet.startRotation(form: form, audience: audience)
        } catch {
            ticker = nil
            self.error = errorShown(error)
        }
        refreshCode()
    }

    private func refreshCode() {
        code = try? session.wallet.dynamicCode(audience: audience)
        codeFetchedAt = (try? session.wallet.nowUnix()) ?? 0
        codeSecondsLeft = Int(code?.manualSecondsLeft ?? 0)
    }

    private func onEvent(_ event: WalletEvent) {
        switch event {
        case .rotation(let p):
            // A tick of a ticker just replaced may still arrive: only the chosen codes are shown.
            guard p.audience == audience, p.form == form else { return }
            presentation = p
            secondsLeft = Int(p.secondsLeft)
        case .licenceChanged, .elicenceChanged:
            reload()
        default:
            break
        }
    }
}

struct MainPageView: View {
    @ObservedObject var vm: MainPageViewModel
    private let timer = Timer.publish(every: 1, on: .main, in: .common).autoconnect()

    var body: some View {
        List {
            if let page = vm.page {
                HStack(alignment: .top) {
                    if let data = vm.photo, let image = UIImage(data: data) {
                        Image(uiImage: image).resizable().scaledToFit().frame(width: 96)
                    }
                    VStack(alignment: .leading) {
                        Text("姓名 \(page.name)")
                        Text("性别 \(page.sexLabelZh)   国籍 \(page.nationality)")
                        Text("出生日期 \(page.dateOfBirth)")
                        Text("证号 \(page.licenceNumber)")
                        Text("准驾车型 \(page.classes)")
                        Text("有效期 \(page.validFrom) 至 \(validityEndText(validUntil: page.validUntil).zh)")
                        if vm.colour != .hidden {
                            Text("状态 \(page.status.labelZh) \(page.status.labelEn)")
                                .foregroundColor(vm.colour == .red ? .red : .primary)
                        }
                    }
                }
            }
            Picker("", selection: Binding(get: { vm.audience }, set: { vm.setAudience($0) })) {
                ForEach([Audience.business, .enforcement], id: \.self) { Text(audienceText(audience: $0).zh).tag($0) }
            }
            .pickerStyle(.segmented)
            Picker("", selection: Binding(get: { vm.form }, set: { vm.setForm($0) })) {
                Text("在线码 Online").tag(PresentationForm.online)
                Text("离线码 Offline").tag(PresentationForm.offline)
            }
            .pickerStyle(.segmented)
            if let p = vm.presentation {
                QrView(presentation: p)
                Text("\(vm.countdown) 后刷新").font(.caption)
            }
            if let c = vm.code {
                BarcodeView(modules: c.barcodeModules).frame(height: 56)
                Text("手输码 \(c.manualCode)（\(vm.codeSecondsLeft) 秒）").font(.title3.bold())
            }
            if let synced = vm.lastSynced { Text("上次同步 \(synced)（北京时间）").font(.caption) }
            if let error = vm.error { Bilingual(text: error, colour: .red) }
        }
        .refreshable { await vm.refresh() }
        .onAppear { vm.start() }
        .onReceive(timer) { _ in vm.tick() }
    }
}

/// Draws a barcode's modules (true is a bar) as they come from the core.
struct BarcodeView: View {
    let modules: [Bool]

    var body: some View {
        Canvas { context, size in
            let unit = size.width / CGFloat(modules.count + 20)
            context.fill(Path(CGRect(origin: .zero, size: size)), with: .color(.white))
            for (i, bar) in modules.enumerated() where bar {
                context.fill(Path(CGRect(x: CGFloat(i + 10) * unit, y: 0, width: unit, height: size.height)), with: .color(.black))
            }
        }
    }
}
