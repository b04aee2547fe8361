import EdlWallet
import SwiftUI

/// Draws a presentation's QR modules as they come from the core, with a 4-module quiet zone.
struct QrView: View {
    let presentation: Presentation
    private let quiet = 4

    var body: some View {
        Canvas { context, size in
            let width = Int(presentation.qrWidth)
            let cell = size.width / CGFloat(width + 2 * quiet)
            context.fill(Path(CGRect(origin: .zero, size: size)), with: .color(.white))
            for y in 0..<width {
                for x in 0..<width where presentation.qrModules[y * width + x] {
                    let rect = CGRect(x: CGFloat(x + quiet) * cell, y: CGFloat(y + quiet) * cell,
                                      width: cell, height: cell)
                    context.fill(Path(rect), with: .color(.black))
                }
            }
        }
        .aspectRatio(1, contentMode: .fit)
    }
}
