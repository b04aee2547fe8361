package cn.edl.demo.viewmodels

import cn.edl.wallet.EdlException
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.Wallet
import cn.edl.wallet.errorText

/** What opening the app's one wallet gave: its session, or what to tell the driver. */
sealed interface WalletOpening {
    /** The wallet opened; the app keeps this session for its life. */
    data class Opened(val session: WalletSession) : WalletOpening

    /**
     * The wallet did not open, and nothing was changed. [text] is the core's `errorText`:
     * try again once the phone is unlocked, free some space, update the app, or (only for
     * a key gone for good or a damaged store) enrol again. The app shows it with a way to
     * try again, instead of crashing at start.
     */
    data class Failed(val text: LocalizedText) : WalletOpening
}

/**
 * Opens the wallet with [open] (the app's `Wallet(dir, keyStore)`) and its session. Every
 * refusal the library throws becomes [WalletOpening.Failed] (the thirty-first review's
 * AL-F4: the demo apps crashed, or showed nothing, when the store could not be opened).
 */
fun openWallet(open: () -> Wallet): WalletOpening = try {
    WalletOpening.Opened(WalletSession(open()))
} catch (e: EdlException) {
    WalletOpening.Failed(errorText(e))
}
