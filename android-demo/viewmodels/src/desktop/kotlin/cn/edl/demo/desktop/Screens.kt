package cn.edl.demo.desktop

import cn.edl.demo.viewmodels.ApplyViewModel
import cn.edl.demo.viewmodels.EnrolViewModel
import cn.edl.demo.viewmodels.MainPageViewModel
import cn.edl.demo.viewmodels.MessagesViewModel
import cn.edl.demo.viewmodels.PhotoViewModel
import cn.edl.demo.viewmodels.SupplementaryViewModel
import cn.edl.wallet.Audience
import cn.edl.wallet.PhotoSource
import cn.edl.wallet.PresentationForm
import cn.edl.wallet.StatusColour
import cn.edl.wallet.audienceText
import cn.edl.wallet.beijingDateTime
import cn.edl.wallet.reviewOutcomeText
import java.awt.Color
import java.io.File
import javax.swing.JComponent
import javax.swing.JFileChooser
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.launch

/**
 * Each screen drawn from its view model's state, as the Android activity and the SwiftUI
 * views draw it: fields, lists and colours only. `scope` runs the view models' calls.
 */
class Screens(private val scope: CoroutineScope) {
    private fun act(block: suspend () -> Unit) {
        scope.launch { block() }
    }

    fun enrol(vm: EnrolViewModel): JComponent = Ui.column().apply {
        val s = vm.state.value
        add(Ui.title("绑定驾驶证", "Enrol this phone"))
        add(Ui.left(Ui.field("交管服务地址 Authority URL", s.authorityUrl) { vm.edit(authorityUrl = it) }))
        add(Ui.left(Ui.field("证号 Licence number", s.licenceNumber) { vm.edit(licenceNumber = it) }))
        add(Ui.left(Ui.field("激活码 Activation code (SMS or vehicle office)", s.activationCode) { vm.edit(activationCode = it) }))
        add(Ui.gap())
        add(Ui.left(Ui.button("绑定 Enrol", !s.busy) { act { vm.enrol() } }))
        s.error?.let { add(Ui.gap()); add(Ui.left(Ui.bilingual(it, 13, Ui.red))) }
    }

    fun apply(vm: ApplyViewModel): JComponent = Ui.column().apply {
        val s = vm.state.value
        add(Ui.title("申领电子驾驶证", "Apply for the e-licence"))
        s.heading?.let { add(Ui.left(Ui.bilingual(it))) }
        add(Ui.left(Ui.text("申领前需完成实人认证。", 13)))
        add(Ui.left(Ui.text("A real-person check comes first.", 11, Ui.grey)))
        add(Ui.gap())
        add(Ui.left(Ui.button("实人认证并申领 Check and apply", !s.busy) { act { vm.apply() } }))
        s.refusal?.let {
            add(Ui.gap())
            add(Ui.left(Ui.text("不能申领 Refused", 14, Ui.red, bold = true)))
            add(Ui.left(Ui.bilingual(it, 13, Ui.red)))
        }
    }

    fun photo(vm: PhotoViewModel): JComponent = Ui.column().apply {
        val s = vm.state.value
        add(Ui.title("驾驶人照片", "Photo"))
        s.heading?.let { add(Ui.left(Ui.bilingual(it))) }
        add(Ui.gap())
        add(Ui.left(Ui.line(Ui.button("拍照 Camera") { pick(vm, PhotoSource.CAMERA) }, Ui.button("相册 Album") { pick(vm, PhotoSource.ALBUM) })))
        s.photo?.let { add(Ui.gap()); add(Ui.left(Ui.image(it, 110))) }
        s.report?.let { r ->
            add(Ui.gap())
            add(Ui.left(Ui.text("本机检测 Checks on this phone", 14, bold = true)))
            if (r.passes) {
                add(Ui.left(Ui.text("✓ 符合要求 Meets the rules (${r.width}×${r.height})", 13, Color(0x2E, 0x7D, 0x32))))
            }
            r.problems.forEach { add(Ui.left(Ui.bilingual(it.hint, 13, Ui.red))) }
            add(Ui.left(Ui.text("由审核员判断 Left to the reviewer", 12, Ui.grey, bold = true)))
            r.leftToReviewer.forEach { add(Ui.left(Ui.text("· ${it.zh}  ${it.en}", 11, Ui.grey))) }
        }
        add(Ui.gap())
        add(Ui.left(Ui.button("上传 Upload", s.canUpload) { act { vm.upload() } }))
        if (s.stage != null) {
            add(Ui.gap(4))
            add(Ui.left(Ui.bar(s.progress)))
            s.stageText?.let { add(Ui.left(Ui.text("${it.zh} ${it.en}  ${(s.progress * 100).toInt()}%", 12, Ui.grey))) }
        }
        s.deadline?.let {
            add(Ui.gap())
            add(Ui.left(Ui.text(it.zh, 14, Ui.blue, bold = true)))
            add(Ui.left(Ui.text(it.en, 11, Ui.grey)))
        }
        s.lastReview?.let { r ->
            val t = reviewOutcomeText(r.outcome)
            add(Ui.left(Ui.text("上次审核 ${t.zh}${r.reason?.let { "：$it" } ?: ""}  Last review: ${t.en}", 12, Ui.grey)))
        }
        add(Ui.gap())
        add(Ui.left(Ui.button("刷新 Refresh", !s.busy) { act { vm.refresh() } }))
        s.error?.let { add(Ui.left(Ui.bilingual(it, 13, Ui.red))) }
    }

    private fun pick(vm: PhotoViewModel, source: PhotoSource) {
        val chooser = JFileChooser()
        if (chooser.showOpenDialog(null) == JFileChooser.APPROVE_OPTION) act { vm.pick(chooser.selectedFile.readBytes(), source) }
    }

    fun main(vm: MainPageViewModel): JComponent = Ui.column().apply {
        val s = vm.state.value
        add(Ui.title("电子驾驶证", "Electronic driving licence — main page"))
        val page = s.page
        if (page != null) {
            val fields = Ui.column().apply {
                border = null
                isOpaque = false
                add(Ui.left(Ui.row("姓名", page.name)))
                add(Ui.left(Ui.row("性别", "${page.sexLabelZh}   国籍 ${page.nationality}")))
                add(Ui.left(Ui.row("出生日期", page.dateOfBirth)))
                add(Ui.left(Ui.row("证号", page.licenceNumber)))
                add(Ui.left(Ui.row("准驾车型", page.classes)))
                add(Ui.left(Ui.row("初次领证", page.firstIssue)))
                add(Ui.left(Ui.row("有效期", "${page.validFrom} 至 ${s.validUntil?.zh}")))
                if (s.colour != StatusColour.HIDDEN) {
                    val colour = if (s.colour == StatusColour.RED) Ui.red else Color.BLACK
                    add(Ui.left(Ui.row("状态", "${page.status.labelZh} ${page.status.labelEn}", colour)))
                }
            }
            val photo = s.photo?.let { Ui.image(it, 96) } ?: Ui.text("")
            add(Ui.left(Ui.line(photo, fields)))
            add(Ui.left(Ui.text("生成时间 ${beijingDateTime(page.generatedAtUnix)}", 11, Ui.grey)))
        }
        add(Rule())
        add(
            Ui.left(
                Ui.line(
                    *listOf(Audience.BUSINESS, Audience.ENFORCEMENT).map { a ->
                        val t = audienceText(a)
                        Ui.button((if (a == s.audience) "● " else "○ ") + "${t.zh} ${t.en}") { vm.setAudience(a) }
                    }.toTypedArray(),
                ),
            ),
        )
        add(
            Ui.left(
                Ui.line(
                    Ui.button((if (s.form == PresentationForm.ONLINE) "● " else "○ ") + "在线码 Online") { vm.setForm(PresentationForm.ONLINE) },
                    Ui.button((if (s.form == PresentationForm.OFFLINE) "● " else "○ ") + "离线码 Offline") { vm.setForm(PresentationForm.OFFLINE) },
                ),
            ),
        )
        s.presentation?.let { p ->
            add(Ui.gap(4))
            add(Ui.left(QrCanvas(p.qrWidth.toInt(), p.qrModules, 220)))
            add(Ui.left(Ui.text("${s.countdown} 后刷新 refreshes in ${s.secondsLeft} s", 12, Ui.grey)))
        }
        s.code?.let { c ->
            add(Ui.gap(4))
            add(Ui.left(BarcodeCanvas(c.barcodeModules, Ui.WIDTH - 40, 56)))
            add(Ui.left(Ui.text(c.barcodeText, 11, Ui.grey)))
            add(Ui.left(Ui.text("手输码 ${c.manualCode}", 20, Color.BLACK, bold = true)))
            add(Ui.left(Ui.text("Manual code, ${s.codeSecondsLeft} s left", 11, Ui.grey)))
        }
        add(Rule())
        s.lastSynced?.let { add(Ui.left(Ui.text("上次同步 Last synced $it（北京时间）", 12, Ui.grey))) }
        add(Ui.left(Ui.button("下拉刷新 Refresh", !s.refreshing) { act { vm.refresh() } }))
        s.error?.let { add(Ui.left(Ui.bilingual(it, 13, Ui.red))) }
    }

    fun supplementary(vm: SupplementaryViewModel): JComponent = Ui.column().apply {
        val s = vm.state.value
        add(Ui.title("副页", "Supplementary page"))
        val page = s.page ?: return@apply
        add(Ui.left(Ui.row("住址", page.address)))
        add(Ui.left(Ui.row("发证机关", page.issuingAuthority)))
        add(Rule())
        val c = page.cycle
        add(Ui.left(Ui.text("记分周期 Scoring cycle  ${c.start} 至 ${c.end}", 13, bold = true)))
        add(Ui.left(Ui.bar(s.pointsBar, if (c.reachedLimit) Ui.red else Ui.blue)))
        s.pointsLine?.let {
            add(Ui.left(Ui.text(it.zh, 13, if (c.reachedLimit) Ui.red else Color.BLACK)))
            add(Ui.left(Ui.text(it.en, 11, Ui.grey)))
        }
        add(Rule())
        add(Ui.left(Ui.text("驾驶记录 Driving record", 14, bold = true)))
        if (page.record.isEmpty()) add(Ui.left(Ui.text("无记录 None", 12, Ui.grey)))
        page.record.forEach { e ->
            add(Ui.left(Ui.text("${e.date}  ${e.place}", 12, Ui.grey)))
            add(Ui.left(Ui.text("${e.act}  记${e.points}分  罚款${e.fineYuan}元  ${if (e.handled) "已处理" else "未处理"}", 13)))
        }
        add(Rule())
        add(Ui.left(Ui.text("准驾车型 Vehicle classes", 14, bold = true)))
        page.classMeanings.forEach { add(Ui.left(Ui.text("${it.code}  ${it.meaningZh}  ${it.meaningEn}", 13))) }
        add(Ui.gap())
        add(Ui.left(Ui.button("下拉刷新 Refresh", !s.refreshing) { act { vm.refresh() } }))
        s.error?.let { add(Ui.left(Ui.bilingual(it, 13, Ui.red))) }
    }

    fun messages(vm: MessagesViewModel): JComponent = Ui.column().apply {
        val s = vm.state.value
        add(Ui.title("消息", "Messages"))
        s.messages.forEach { m ->
            add(Ui.left(Ui.text(m.at, 11, Ui.grey)))
            add(Ui.left(Ui.text(m.title, 13, bold = true)))
            add(Ui.left(Ui.text(m.body, 12)))
            add(Ui.gap(4))
        }
        add(Rule())
        add(Ui.left(Ui.text("核验记录 Who checked my e-licence", 14, bold = true)))
        if (s.verifications.isEmpty()) add(Ui.left(Ui.text("无记录 None", 12, Ui.grey)))
        s.verifications.forEach { v ->
            val colour = if (v.entry.outcome == cn.edl.wallet.CheckOutcome.VERIFIED) Color.BLACK else Ui.red
            add(Ui.left(Ui.text("${v.at}  ${v.verifier}（${v.verifierClass.zh}）", 12)))
            add(Ui.left(Ui.text("${v.method.zh} · ${v.audience.zh} · ${v.outcome.zh}   ${v.method.en}, ${v.audience.en} view, ${v.outcome.en}", 11, colour)))
            add(Ui.gap(4))
        }
        add(Ui.left(Ui.button("下拉刷新 Refresh", !s.refreshing) { act { vm.refresh() } }))
        s.error?.let { add(Ui.left(Ui.bilingual(it, 13, Ui.red))) }
    }
}
