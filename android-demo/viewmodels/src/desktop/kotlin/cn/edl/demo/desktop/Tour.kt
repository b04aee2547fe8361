package cn.edl.demo.desktop

import cn.edl.demo.DemoIdentity
import cn.edl.demo.viewmodels.Screen
import cn.edl.demo.viewmodels.WalletSession
import cn.edl.wallet.Audience
import cn.edl.wallet.OnlineVerifier
import cn.edl.wallet.PhotoSource
import cn.edl.wallet.Wallet
import cn.edl.wallet.keyFileKeyStore
import java.awt.Robot
import java.io.File
import java.nio.file.Files
import java.time.LocalDate
import java.time.ZoneId
import javax.imageio.ImageIO
import javax.swing.SwingUtilities
import kotlinx.coroutines.runBlocking

/**
 * The screenshot tour: a new driver of the authority on loopback is taken through every
 * screen by the view models, as the driver's taps would, and each screen is captured from
 * the display (Xvfb in bindings/test.sh) with java.awt.Robot into `out`.
 */
class Tour(private val out: File) {
    private val admin = Admin.fromEnvironment()
    private val photos = File(System.getenv("EDL_PHOTO") ?: error("EDL_PHOTO not set")).parentFile

    fun run() = runBlocking {
        out.mkdirs()
        val number = "110101199003076001"
        val driver = admin.createDriver(number)
        val dir = Files.createTempDirectory("edl-tour").toFile()
        Wallet(dir.path, keyFileKeyStore(File(dir, "key").path)).use { wallet ->
            val session = WalletSession(wallet)
            val app = DesktopApp(session, admin.url, DemoIdentity((System.getenv("EDL_IDENTITY_SECRET") ?: "").toByteArray()))
            SwingUtilities.invokeAndWait { app.show() }
            val robot = Robot()
            fun capture(name: String) {
                app.main.tick()
                Thread.sleep(400)
                SwingUtilities.invokeAndWait { app.render() }
                robot.waitForIdle()
                Thread.sleep(400)
                ImageIO.write(robot.createScreenCapture(app.frame.bounds), "png", File(out, "$name.png"))
                println("screenshot $name.png")
            }

            app.enrol.edit(licenceNumber = number, activationCode = "000000")
            app.enrol.enrol()
            capture("1-enrol")

            app.enrol.edit(activationCode = admin.activationCode(driver))
            check(app.enrol.enrol())
            admin.setStatus(driver, "D")
            app.apply.apply()
            capture("2-apply-refused")

            admin.setStatus(driver, "A")
            check(app.apply.apply())
            app.photo.pick(File(photos, "too_dark.jpg").readBytes(), PhotoSource.ALBUM)
            capture("3-photo-check")

            app.photo.pick(File(photos, "clean.jpg").readBytes(), PhotoSource.CAMERA)
            check(app.photo.upload())
            capture("4-photo-review")

            val pending = wallet.application()?.pendingReview ?: error("no review pending")
            admin.approve(pending.photoId)
            val yesterday = LocalDate.now(ZoneId.of("Asia/Shanghai")).minusDays(1)
            admin.violation(driver, yesterday.minusDays(20).toString(), "北京市东城区东直门内大街", "驾驶机动车违反道路交通信号灯通行", 6, 200)
            admin.violation(driver, yesterday.toString(), "北京市朝阳区建国路", "机动车违反规定停放", 0, 150)
            app.photo.refresh()
            check(session.screen.value == Screen.MAIN)
            waitFor { app.main.state.value.presentation != null }
            capture("5-main")

            // Verifiers check what the screen shows: a car-rental firm scans the QR, the police
            // type the manual code.
            OnlineVerifier(admin.url, admin.createVerifier("神州租车", "rental")).use {
                it.verifyQr(app.main.state.value.presentation!!.payload)
            }
            app.main.setAudience(Audience.ENFORCEMENT)
            waitFor { app.main.state.value.presentation?.audience == Audience.ENFORCEMENT }
            capture("6-main-police")
            OnlineVerifier(admin.url, admin.createVerifier("东城交警", "enforcement")).use {
                it.verifyManual(number, app.main.state.value.code!!.manualCode)
            }

            session.open(Screen.SUPPLEMENTARY)
            app.supplementary.refresh()
            capture("7-supplementary")

            session.open(Screen.MESSAGES)
            app.messages.refresh()
            capture("8-messages")

            admin.setStatus(driver, "D")
            session.open(Screen.MAIN)
            app.main.setAudience(Audience.BUSINESS)
            app.main.refresh()
            waitFor { app.main.state.value.presentation?.audience == Audience.BUSINESS }
            capture("9-main-suspended")

            app.close()
            session.close()
        }
        dir.deleteRecursively()
    }

    private fun waitFor(condition: () -> Boolean) {
        val deadline = System.currentTimeMillis() + 5_000
        while (!condition()) {
            check(System.currentTimeMillis() < deadline) { "the tour timed out" }
            Thread.sleep(20)
        }
    }
}
