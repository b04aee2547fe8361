package cn.edl.demo.desktop

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.Base64

/**
 * The development authority's admin API (what the vehicle office and the photo reviewer do),
 * for the desktop tour and the tests: plain java.net.http, the JSON read with small regexes.
 */
class Admin(val url: String, private val token: String) {
    private val http = HttpClient.newHttpClient()

    /** One admin call; fails on any answer but 200. */
    fun call(method: String, path: String, body: String? = null): String {
        val request = HttpRequest.newBuilder(URI.create(url + path))
            .method(method, body?.let { HttpRequest.BodyPublishers.ofString(it) } ?: HttpRequest.BodyPublishers.noBody())
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer $token")
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 200) { "$method $path: ${response.statusCode()} ${response.body()}" }
        return response.body()
    }

    private fun field(json: String, name: String): String =
        Regex("\"$name\"\\s*:\\s*\"?([^\",}]*)").find(json)?.groupValues?.get(1) ?: error("no $name in the answer")

    /** Registers a driver (the demo's 李娜, Beijing) with licence [number]; returns the driver id. */
    fun createDriver(number: String, photoOnFile: ByteArray? = null): Long {
        val photo = photoOnFile?.let { ""","photo":"${Base64.getEncoder().encodeToString(it)}"""" } ?: ""
        val body = """{"licence_number":"$number","name":"李娜","sex":"female","nationality":"中国",
            "date_of_birth":"1990-03-07","classes":"C1D","first_issue":"2012-03-07",
            "valid_from":"2018-03-07","valid_until":"2030-03-07",
            "address":"北京市东城区示例路1号","issuing_authority":"北京市公安局公安交通管理局"$photo}"""
        return field(call("POST", "/admin/drivers", body), "driver_id").toLong()
    }

    /** A one-time activation code for the driver's wallet. */
    fun activationCode(driver: Long): String = field(call("POST", "/admin/drivers/$driver/activation-code"), "code")

    /** Sets the licence's status letters ("A" in force, "D" suspended, …). */
    fun setStatus(driver: Long, letters: String) {
        call("PUT", "/admin/drivers/$driver/status", """{"status":"$letters"}""")
    }

    /** Records a violation on the driver's record. */
    fun violation(driver: Long, date: String, place: String, act: String, points: Int, fineYuan: Int) {
        call("POST", "/admin/drivers/$driver/violations", """{"date":"$date","place":"$place","act":"$act","points":$points,"fine_yuan":$fineYuan}""")
    }

    /** The reviewer approves a photo. */
    fun approve(photoId: ULong) {
        call("POST", "/admin/reviews/$photoId/approve")
    }

    /** A verifier account of [verifierClass] (`enforcement`, `insurer`, `rental`, `employer`); returns its API key. */
    fun createVerifier(name: String, verifierClass: String): String =
        field(call("POST", "/admin/verifiers", """{"name":"$name","class":"$verifierClass"}"""), "api_key")

    companion object {
        /** The admin client of the authority bindings/test.sh started (its environment). */
        fun fromEnvironment(): Admin = Admin(
            System.getenv("EDL_AUTHORITY_URL") ?: error("EDL_AUTHORITY_URL not set (run bindings/test.sh)"),
            System.getenv("EDL_ADMIN_TOKEN") ?: error("EDL_ADMIN_TOKEN not set"),
        )
    }
}
