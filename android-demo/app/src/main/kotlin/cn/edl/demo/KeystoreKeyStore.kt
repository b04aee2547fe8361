package cn.edl.demo

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import cn.edl.wallet.EdlException
import cn.edl.wallet.KeyStore
import cn.edl.wallet.KeyStoreFailure
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The wallet's `KeyStore` over an AES-256-GCM key in the Android Keystore: the key never
 * leaves the secure hardware, so the wallet's database is unreadable off this phone.
 * The blob is `iv (12 bytes) ‖ ciphertext ‖ tag`.
 */
class KeystoreKeyStore(private val alias: String = "edl-wallet-data-key") : KeyStore {
    /**
     * The Keystore key; made only when a new wallet wraps its data key. When a wallet is
     * opened and the key is gone, it can never open again: INVALIDATED (whose words ask to
     * enrol again), not a new key that then reads as a wrong one.
     */
    private fun key(createIfMissing: Boolean): SecretKey {
        val store = java.security.KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (store.getKey(alias, null) as? SecretKey)?.let { return it }
        if (!createIfMissing) throw EdlException.KeyStore(KeyStoreFailure.INVALIDATED)
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
            .apply { init(spec) }
            .generateKey()
    }

    override fun wrapKey(plaintext: ByteArray): ByteArray {
        try {
            // The Keystore chooses the IV: callers may not supply one for encryption.
            val cipher = Cipher.getInstance("AES/GCM/NoPadding").apply { init(Cipher.ENCRYPT_MODE, key(createIfMissing = true)) }
            return cipher.iv + cipher.doFinal(plaintext)
        } finally {
            plaintext.fill(0)
        }
    }

    override fun unwrapKey(wrapped: ByteArray): ByteArray {
        if (wrapped.size < IV_BYTES + TAG_BYTES) throw EdlException.KeyStore(KeyStoreFailure.WRONG_KEY)
        try {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, key(createIfMissing = false), GCMParameterSpec(TAG_BYTES * 8, wrapped, 0, IV_BYTES))
            return cipher.doFinal(wrapped, IV_BYTES, wrapped.size - IV_BYTES)
        } catch (e: AEADBadTagException) {
            throw EdlException.KeyStore(KeyStoreFailure.WRONG_KEY)
        } catch (e: KeyPermanentlyInvalidatedException) {
            throw EdlException.KeyStore(KeyStoreFailure.INVALIDATED)
        }
    }

    private companion object {
        const val IV_BYTES = 12
        const val TAG_BYTES = 16
    }
}
