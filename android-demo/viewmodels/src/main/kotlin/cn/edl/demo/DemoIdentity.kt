package cn.edl.demo

import cn.edl.wallet.IdentityProvider
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec

/**
 * A stand-in for the face-verification SDK (实人认证) a real app calls here: the
 * attestation the development authority accepts, an HMAC under the secret it was started
 * with (`EDL_IDENTITY_SECRET`). Never ship it: whoever holds the secret passes the check.
 */
class DemoIdentity(private val secret: ByteArray) : IdentityProvider {
    override fun attest(challenge: ByteArray, licenceNumber: String): ByteArray? {
        val mac = Mac.getInstance("HmacSHA256").apply { init(SecretKeySpec(secret, "HmacSHA256")) }
        mac.update("EDL1/identity\u0000".toByteArray())
        mac.update(challenge)
        return mac.doFinal(licenceNumber.toByteArray())
    }
}
