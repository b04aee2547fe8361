package cn.edl.demo

import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.view.View

/** Draws a barcode's modules (true is a bar) as they come from the core, with a 10-module quiet zone. */
class BarcodeView(context: Context) : View(context) {
    private val dark = Paint().apply { color = Color.BLACK }
    private var modules: List<Boolean> = emptyList()

    fun show(modules: List<Boolean>) {
        this.modules = modules
        invalidate()
    }

    override fun onMeasure(widthMeasureSpec: Int, heightMeasureSpec: Int) {
        val width = MeasureSpec.getSize(widthMeasureSpec)
        setMeasuredDimension(width, width / 5)
    }

    override fun onDraw(canvas: Canvas) {
        canvas.drawColor(Color.WHITE)
        if (modules.isEmpty()) return
        val unit = width.toFloat() / (modules.size + 2 * QUIET)
        modules.forEachIndexed { i, bar ->
            if (bar) canvas.drawRect((i + QUIET) * unit, 0f, (i + QUIET + 1) * unit, height.toFloat(), dark)
        }
    }

    private companion object {
        const val QUIET = 10
    }
}
