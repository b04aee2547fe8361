// The page's words in English and Chinese. Static text in index.html names its key with
// data-i18n (text), data-i18n-label (aria-label) or data-i18n-placeholder; the rest is
// looked up by the script. A key missing in one language falls back to English.

const STRINGS = {
  en: {
    title: 'Check a driving licence',
    subtitle: 'Electronic driving licence · online check',
    otherLang: '中文',
    otherLangLabel: 'Switch to Chinese',
    apiKey: 'Verifier API key',
    apiKeyHint: 'Kept by this page only while it is open and sent only in a request header; reloading, leaving or closing the page forgets it.',
    signIn: 'Sign in',
    signOut: 'Sign out',
    scanTitle: 'Scan the QR on the driver’s phone',
    startCamera: 'Start camera',
    stopCamera: 'Stop camera',
    cameraHint: 'Point the camera at the online QR; it is read as soon as it is in view.',
    upload: 'Or choose a picture of the QR',
    barcodeTitle: 'Barcode digits',
    barcodeLabel: 'The 32 digits under the barcode',
    manualTitle: 'Licence number and manual code',
    licenceNumber: 'Licence number',
    manualCode: 'Manual code (7 digits)',
    check: 'Check',
    checking: 'Checking…',
    resultTitle: 'Result',
    photoAlt: 'The driver’s approved photo: compare it with the face',
    photoHint: 'Compare the photo with the driver’s face.',
    photoMissing: 'The photo could not be loaded: check the driver’s identity another way, or check again.',
    checkedAt: 'Checked at {time}',
    verdictValid: 'Valid: the licence is in force',
    verdictNotInForce: 'Not in force: do not accept',
    verdictRefused: 'Refused',
    viewEnforcement: 'Enforcement view: both pages, live',
    viewBusiness: 'Business view: qualification only',
    noQrInImage: 'No QR code was found in that picture. Try a sharper or closer one.',
    cameraUnavailable: 'The camera could not be started: {why}',
    offlineQr: 'This is an offline QR. This page checks online QR codes: ask the driver to show the online QR.',
    networkError: 'The authority could not be reached. Check the connection and try again.',
    yes: 'yes',
    no: 'no',
    none: 'none',
    minutes: '{n} min',
    statusWithCode: '{label} ({code})',
    seconds: '{n} s',
    fewSeconds: 'a few seconds',
  },
  zh: {
    title: '核验驾驶证',
    subtitle: '电子驾驶证 · 在线核验',
    otherLang: 'English',
    otherLangLabel: '切换到英文',
    apiKey: '核验方 API 密钥',
    apiKeyHint: '仅在本页面打开期间保存，只通过请求头发送；刷新、离开或关闭页面即清除。',
    signIn: '登录',
    signOut: '退出',
    scanTitle: '扫描驾驶人手机上的二维码',
    startCamera: '打开摄像头',
    stopCamera: '关闭摄像头',
    cameraHint: '将摄像头对准在线二维码，进入画面即自动识别。',
    upload: '或选择一张二维码图片',
    barcodeTitle: '条码数字',
    barcodeLabel: '条码下方的 32 位数字',
    manualTitle: '驾驶证号和手动核验码',
    licenceNumber: '驾驶证号',
    manualCode: '手动核验码（7 位数字）',
    check: '核验',
    checking: '正在核验…',
    resultTitle: '核验结果',
    photoAlt: '驾驶人已审核的照片：请与本人比对',
    photoHint: '请将照片与驾驶人本人比对。',
    photoMissing: '照片未能加载：请以其他方式核对驾驶人身份，或重新核验。',
    checkedAt: '核验时间 {time}',
    verdictValid: '有效：驾驶证状态正常',
    verdictNotInForce: '无效：请勿接受',
    verdictRefused: '核验未通过',
    viewEnforcement: '执法视图：主页和副页（实时）',
    viewBusiness: '企业视图：仅准驾资格',
    noQrInImage: '图片中未找到二维码，请换一张更清晰或更近的图片。',
    cameraUnavailable: '无法打开摄像头：{why}',
    offlineQr: '这是离线二维码。本页面核验在线二维码：请驾驶人出示在线二维码。',
    networkError: '无法连接发证机关，请检查网络后重试。',
    yes: '是',
    no: '否',
    none: '无',
    minutes: '{n} 分钟',
    statusWithCode: '{label}（{code}）',
    seconds: '{n} 秒',
    fewSeconds: '几秒钟',
  },
};

let lang = 'en';

/** The language to start in: Chinese when the browser prefers it, else English. */
export function initialLang(preferred) {
  return /^zh\b/i.test(preferred || '') ? 'zh' : 'en';
}

/** The current language code ('en' or 'zh'). */
export function currentLang() {
  return lang;
}

/** Switches the language and rewrites the static text of `root`. */
export function setLang(next, root) {
  lang = next === 'zh' ? 'zh' : 'en';
  root.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll('[data-i18n-alt]')) el.alt = t(el.dataset.i18nAlt);
  root.title = t('title');
}

/** The text of `key` in the current language, with `{name}` filled from `args`. */
export function t(key, args = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(args[name] ?? ''));
}

/** `pick({en, zh})`: the entry of a two-language table for the current language. */
export function pick(entry) {
  return entry[lang] ?? entry.en;
}
