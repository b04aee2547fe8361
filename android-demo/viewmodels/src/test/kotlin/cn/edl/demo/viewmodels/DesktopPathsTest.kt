package cn.edl.demo.viewmodels

import cn.edl.demo.desktop.DesktopPaths
import cn.edl.wallet.Wallet
import cn.edl.wallet.keyFileKeyStore
import java.io.File
import java.nio.file.Files
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

/** The desktop window keeps its key file out of the wallet's directory (AN-F8). */
class DesktopPathsTest {
    @Test
    fun `the key file lies beside the wallet's directory, not in it`() {
        val home = File("/home/driver")
        val paths = DesktopPaths.of(emptyMap(), home)
        assertEquals(File(home, ".edl-demo"), paths.wallet)
        assertEquals(File(home, ".edl-demo.key"), paths.key)
        val chosen = DesktopPaths.of(mapOf("--wallet" to "/data/w"), home)
        assertEquals(File("/data/w.key"), chosen.key)
        assertFalse(chosen.key.path.startsWith(chosen.wallet.path + File.separator))
        assertEquals(File("/keys/k"), DesktopPaths.of(mapOf("--wallet" to "/data/w", "--key" to "/keys/k"), home).key)
    }

    @Test
    fun `a wallet whose key an earlier demo kept inside it still opens, its key moved out`() {
        val home = Files.createTempDirectory("edl-desktop-home").toFile()
        val paths = DesktopPaths.of(emptyMap(), home)
        paths.wallet.mkdirs()
        // The layout before AN-F8: the key file inside the wallet's directory.
        val old = File(paths.wallet, "key")
        Wallet(paths.wallet.path, keyFileKeyStore(old.path)).close()
        val keyBytes = old.readBytes()

        paths.moveKeyOutOfWallet()
        assertFalse(old.exists(), "no key is left in the wallet's directory")
        assertTrue(paths.key.readBytes().contentEquals(keyBytes), "the same key, moved")
        val opened = openWallet { Wallet(paths.wallet.path, keyFileKeyStore(paths.key.path)) }
        val session = assertIs<WalletOpening.Opened>(opened).session
        session.close()
        session.wallet.close()

        // Run again (the next start), nothing moves and the key stays.
        paths.moveKeyOutOfWallet()
        assertTrue(paths.key.readBytes().contentEquals(keyBytes))
        home.deleteRecursively()
    }
}
