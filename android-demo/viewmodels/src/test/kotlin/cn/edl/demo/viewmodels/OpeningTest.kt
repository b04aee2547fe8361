package cn.edl.demo.viewmodels

import cn.edl.wallet.EdlException
import cn.edl.wallet.KeyStore
import cn.edl.wallet.KeyStoreFailure
import cn.edl.wallet.Wallet
import cn.edl.wallet.errorText
import cn.edl.wallet.keyFileKeyStore
import java.nio.file.Files
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue

/** A wallet that cannot be opened is a screen that says why, not a crash (AL-F4). */
class OpeningTest {
    @Test
    fun `a wallet that opens gives its session on the enrolment screen`() {
        val dir = Files.createTempDirectory("edl-opening").toFile()
        val opened = openWallet { Wallet(dir.path, keyFileKeyStore(dir.resolve("key").path)) }
        val session = assertIs<WalletOpening.Opened>(opened).session
        assertEquals(Screen.ENROL, session.screen.value)
        session.close()
        session.wallet.close()
        dir.deleteRecursively()
    }

    @Test
    fun `a directory that is not usable says to try again and changes nothing`() {
        val file = Files.createTempFile("edl-opening", ".not-a-directory").toFile()
        val opened = openWallet { Wallet(file.path, keyFileKeyStore(file.path + ".key")) }
        val failed = assertIs<WalletOpening.Failed>(opened)
        assertEquals(errorText(EdlException.StorageUnavailable()), failed.text)
        assertEquals(0L, file.length(), "the file in the way was left as it was")
        file.delete()
    }

    @Test
    fun `a key the platform lost for good says to enrol again`() {
        val dir = Files.createTempDirectory("edl-opening").toFile()
        Wallet(dir.path, keyFileKeyStore(dir.resolve("key").path)).close()
        val lost = object : KeyStore {
            override fun wrapKey(plaintext: ByteArray): ByteArray =
                throw EdlException.KeyStore(KeyStoreFailure.INVALIDATED)
            override fun unwrapKey(wrapped: ByteArray): ByteArray =
                throw EdlException.KeyStore(KeyStoreFailure.INVALIDATED)
        }
        val failed = assertIs<WalletOpening.Failed>(openWallet { Wallet(dir.path, lost) })
        assertEquals(errorText(EdlException.KeyStore(KeyStoreFailure.INVALIDATED)), failed.text)
        assertTrue(dir.resolve("wallet.db").length() > 0, "nothing was deleted: a reset is the app's to offer")
        dir.deleteRecursively()
    }
}
