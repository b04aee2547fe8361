import EdlWallet
import SwiftUI

/// The supplementary page (the Kotlin `SupplementaryViewModel`): the points bar and the record.
@MainActor
final class SupplementaryViewModel: ObservableObject {
    @Published private(set) var page: SupplementaryPage?
    @Published private(set) var error: LocalizedText?
    private let session: WalletSession
    private var listener: UUID?

    init(session: WalletSession) {
        self.session = session
        reload()
        listener = session.listen { [weak self] event in
            if case .licenceChanged = event { self?.reload() }
        }
    }

    /// How full the points bar is drawn: the core's `pointsFraction` of the cycle.
    var pointsBar: Double {
        guard let c = page?.cycle else { return 0 }
        return Double(pointsFraction(points: c.points, limit: c.limit))
    }

    /// The points recorded, the limit and the points left: the core's `pointsText` of the cycle.
    var pointsLine: LocalizedText? { page.map { pointsText(cycle: $0.cycle) } }

    func reload() { page = try? session.wallet.supplementaryPage() }

    /// Pull to refresh: syncs, then re-reads from the store.
    func refresh() async { error = await session.sync(); reload() }
}

struct SupplementaryView: View {
    @ObservedObject var vm: SupplementaryViewModel

    var body: some View {
        List {
            if let page = vm.page {
                Section("副页 Supplementary page") {
                    Text("住址 \(page.address)")
                    Text("发证机关 \(page.issuingAuthority)")
                }
                let c = page.cycle
                Section("记分周期 \(c.start) 至 \(c.end)") {
                    ProgressView(value: vm.pointsBar).tint(c.reachedLimit ? .red : .blue)
                    if let line = vm.pointsLine {
                        Text(line.zh).foregroundColor(c.reachedLimit ? .red : .primary)
                    }
                }
                Section("驾驶记录 Driving record") {
                    ForEach(Array(page.record.enumerated()), id: \.offset) { _, e in
                        VStack(alignment: .leading) {
                            Text("\(e.date)  \(e.place)").font(.caption).foregroundColor(.secondary)
                            Text("\(e.act)  记\(e.points)分  罚款\(e.fineYuan)元")
                        }
                    }
                }
                Section("准驾车型 Vehicle classes") {
                    ForEach(Array(page.classMeanings.enumerated()), id: \.offset) { _, m in
                        Text("\(m.code)  \(m.meaningZh)  \(m.meaningEn)")
                    }
                }
            }
            if let error = vm.error { Bilingual(text: error, colour: .red) }
        }
        .refreshable { await vm.refresh() }
    }
}
