package cn.edl.demo.viewmodels

import cn.edl.demo.desktop.DesktopPaths
import cn.edl.wallet.Wallet
import cn.edl.wallet.keyFileKeyStore
import java.io.File
import java.nio.file.Files
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

/** The desktop window keeps its key file out of the wallet's directory (AN-F8, D228). */
class DesktopPathsTest {
    private fun inside(paths: DesktopPaths): Boolean =
        paths.key.canonicalFile.toPath().startsWith(paths.wallet.canonicalFile.toPath())

    @Test
    fun `the key file lies beside the wallet's directory, not in it`() {
        val home = File("/home/driver")
        val paths = DesktopPaths.of(emptyMap(), home)
        assertEquals(File(home, ".edl-demo"), paths.wallet)
        assertEquals(File(home, ".edl-demo.key"), paths.key)
        assertEquals(File("/data/w.key"), DesktopPaths.of(mapOf("--wallet" to "/data/w/"), home).key)
        assertEquals(File("/keys/k"), DesktopPaths.of(mapOf("--wallet" to "/data/w", "--key" to "/keys/k"), home).key)
        // Names that are not the directory's own name (the review of D228, AQ-3): before,
        // `--wallet .` kept its key at `./..key`, inside.
        for (given in listOf(".", "..", "/data/w/.", "/data/w/x/..", "w/../w")) {
            val chosen = DesktopPaths.of(mapOf("--wallet" to given), home)
            assertFalse(inside(chosen), "$given: ${chosen.key} inside ${chosen.wallet}")
        }
    }

    @Test
    fun `a key file inside the wallet's directory is refused`() {
        val home = Files.createTempDirectory("edl-desktop-home").toFile()
        val wallet = File(home, "w")
        val inside = DesktopPaths.of(mapOf("--wallet" to wallet.path, "--key" to File(wallet, "k").path), home)
        assertFailsWith<IllegalArgumentException> { inside.prepare() }
        // Through a link to the directory too.
        val link = File(home, "link")
        Files.createSymbolicLink(link.toPath(), wallet.toPath())
        val linked = DesktopPaths.of(mapOf("--wallet" to wallet.path, "--key" to File(link, "k").path), home)
        assertFailsWith<IllegalArgumentException> { linked.prepare() }
        home.deleteRecursively()
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

        paths.prepare()
        assertFalse(old.exists(), "no key is left in the wallet's directory")
        assertTrue(paths.key.readBytes().contentEquals(keyBytes), "the same key, moved")
        val opened = openWallet { Wallet(paths.wallet.path, keyFileKeyStore(paths.key.path)) }
        val session = assertIs<WalletOpening.Opened>(opened).session
        session.close()
        session.wallet.close()

        // The next start moves nothing, and the key stays.
        paths.prepare()
        assertTrue(paths.key.readBytes().contentEquals(keyBytes))
        home.deleteRecursively()
    }

    @Test
    fun `a key already at its place is never replaced by an old one`() {
        val home = Files.createTempDirectory("edl-desktop-home").toFile()
        val paths = DesktopPaths.of(emptyMap(), home)
        paths.wallet.mkdirs()
        File(paths.wallet, "key").writeBytes(ByteArray(32) { 1 })
        paths.key.writeBytes(ByteArray(32) { 2 })
        paths.prepare()
        assertTrue(paths.key.readBytes().contentEquals(ByteArray(32) { 2 }))
        home.deleteRecursively()
    }
}
