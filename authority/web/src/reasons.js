// What each answer of POST /v1/verify means to the person at the counter, in words. Every
// table is keyed on the API's stable codes (docs/HTTP.md), so a code the server adds later
// needs one row here and nothing else; a code with no row still shows, as itself.

/**
 * Refusals, by the `error` code of the error body. `{wait}` is the time left: the body's
 * `retry_after`, else the Retry-After header, else a few seconds.
 */
export const REFUSALS = {
  code_rejected: {
    en: 'The code is wrong or has expired. Ask the driver to show the code on the screen now (it changes every 30 seconds); a screenshot or photo of an old code is refused.',
    zh: '核验码错误或已过期。请驾驶人出示当前屏幕上的码（每 30 秒更新）；旧码的截图或照片不予通过。',
  },
  code_used: {
    en: 'This code was already used. Ask the driver for the code on the screen now.',
    zh: '该核验码已被使用。请驾驶人出示当前屏幕上的码。',
  },
  already_used: {
    en: 'This code was already used. Ask the driver for the code on the screen now.',
    zh: '该核验码已被使用。请驾驶人出示当前屏幕上的码。',
  },
  locked_out: {
    en: 'Locked out after too many failed checks of this licence. Try again in {wait}.',
    zh: '对该驾驶证核验失败次数过多，已被暂时锁定。请在 {wait} 后重试。',
  },
  unknown_id: {
    en: 'No such licence or e-licence. Check the number, or ask the driver to show the QR again.',
    zh: '未找到该驾驶证或电子驾驶证。请核对号码，或请驾驶人重新出示二维码。',
  },
  elicence_superseded: {
    en: 'This e-licence was replaced (renewal or a new phone). Ask the driver to open the app and sync, then show the new code.',
    zh: '该电子驾驶证已被更换（换证或更换手机）。请驾驶人打开应用同步后出示新码。',
  },
  elicence_stopped: {
    en: 'This e-licence has been stopped by the authority. Do not accept it.',
    zh: '该电子驾驶证已被发证机关停止使用，请勿接受。',
  },
  bad_request: {
    en: 'The code could not be read. Check what was typed or scanned and try again.',
    zh: '无法识别该核验码。请检查输入或扫描的内容后重试。',
  },
  bad_base64: {
    en: 'The code could not be read. Scan it again.',
    zh: '无法识别该核验码，请重新扫描。',
  },
  unauthorized: {
    en: 'The API key was not accepted. Sign in again with the key the authority gave you.',
    zh: 'API 密钥无效。请使用发证机关提供的密钥重新登录。',
  },
  payload_too_large: {
    en: 'That is too much to be a licence code.',
    zh: '内容过长，不是驾驶证核验码。',
  },
  // Every 503: shutting down, the database out of reach or holding a commit, its file held
  // by another program. None of them judged the code, and none needs a minute.
  unavailable: {
    en: 'The authority could not check the code just now: this is not a verdict on it. Try again in {wait}.',
    zh: '发证机关暂时无法核验该码，这不是核验结论。请在 {wait} 后重试。',
  },
  request_timeout: {
    en: 'The code did not reach the authority in time (a slow connection): this is not a verdict on it. Try again.',
    zh: '核验码未能及时送达发证机关（网络较慢），这不是核验结论。请重试。',
  },
  internal: {
    en: 'The authority could not complete the check. Try again.',
    zh: '发证机关暂时无法完成核验，请重试。',
  },
};

/** Why a licence that was found is not in force (`not_in_force_reason`). */
export const NOT_IN_FORCE = {
  annulled: { en: 'Annulled (E)', zh: '撤销（E）' },
  revoked: { en: 'Revoked (F)', zh: '吊销（F）' },
  cancelled: { en: 'Cancelled (G)', zh: '注销（G）' },
  cancelled_recoverable: { en: 'Cancelled, restorable (R)', zh: '注销可恢复（R）' },
  transferred_out: { en: 'Transferred to another authority (C)', zh: '转出（C）' },
  stop_use: { en: 'Must not be used (J)', zh: '停止使用（J）' },
  over_points: { en: 'Points limit reached (B)', zh: '超分（B）' },
  suspended: { en: 'Suspended (D)', zh: '暂扣（D）' },
  detained: { en: 'Card detained (U)', zh: '扣留（U）' },
  locked: { en: 'Locked by the authority (L)', zh: '锁定（L）' },
  under_investigation: { en: 'Under investigation (K)', zh: '协查（K）' },
  overdue_renewal: { en: 'Renewal overdue or validity ended (M)', zh: '逾期未换证或已过有效期（M）' },
  renewal_deferred: { en: 'Renewal deferred (N)', zh: '延期换证（N）' },
  overdue_exam: { en: 'Medical examination overdue (Q)', zh: '逾期未体检（Q）' },
  exam_deferred: { en: 'Medical examination deferred (P)', zh: '延期体检（P）' },
  overdue_review: { en: 'Periodic review overdue (S)', zh: '逾期未审验（S）' },
  review_deferred: { en: 'Review deferred (T)', zh: '延期审验（T）' },
  other_status: { en: 'Abnormal status: contact the issuing authority (Z)', zh: '状态异常，请联系发证机关（Z）' },
};

/**
 * Labels of the fields a view may carry, by JSON key. The page shows every field the answer
 * holds; a key with no row is shown under its own name, so nothing the server sends is
 * hidden and nothing it does not send is asked for.
 */
export const FIELD_LABELS = {
  main: { en: 'Main page', zh: '主页' },
  supplementary: { en: 'Supplementary page', zh: '副页' },
  qualification: { en: 'Qualification', zh: '准驾资格' },
  name: { en: 'Name', zh: '姓名' },
  sex: { en: 'Sex', zh: '性别' },
  nationality: { en: 'Nationality', zh: '国籍' },
  address: { en: 'Address', zh: '住址' },
  date_of_birth: { en: 'Date of birth', zh: '出生日期' },
  first_issue: { en: 'First issued', zh: '初次领证日期' },
  licence_number: { en: 'Licence number', zh: '证号' },
  masked_number: { en: 'Licence number (masked)', zh: '证号（部分隐藏）' },
  classes: { en: 'Vehicle classes', zh: '准驾车型' },
  valid_from: { en: 'Valid from', zh: '有效期起始日期' },
  valid_until: { en: 'Valid until', zh: '有效期截止日期' },
  issuing_authority: { en: 'Issued by', zh: '发证机关' },
  status: { en: 'Status', zh: '状态' },
  points: { en: 'Points', zh: '累积记分' },
  scoring_cycle_start: { en: 'Scoring cycle from', zh: '记分周期起' },
  scoring_cycle_end: { en: 'Scoring cycle until', zh: '记分周期止' },
  record: { en: 'Record', zh: '记录' },
  archive_number: { en: 'File number', zh: '档案编号' },
  generated_at: { en: 'Page generated at', zh: '生成时间' },
  cycle: { en: 'Scoring cycle', zh: '记分周期' },
  start: { en: 'From', zh: '起' },
  end: { en: 'Until', zh: '止' },
  date: { en: 'Date', zh: '日期' },
  place: { en: 'Place', zh: '地点' },
  act: { en: 'Violation', zh: '违法行为' },
  fine_yuan: { en: 'Fine (yuan)', zh: '罚款（元）' },
  handled: { en: 'Dealt with', zh: '已处理' },
  photo_digest: { en: 'Photo fingerprint (SHA-256)', zh: '照片指纹（SHA-256）' },
  elicence_id: { en: 'E-licence', zh: '电子驾驶证编号' },
  in_force: { en: 'In force', zh: '是否有效' },
  status_colour: { en: 'Status shown in', zh: '状态颜色' },
};

/** Values that are words from a fixed set, by field then value. */
export const VALUE_NAMES = {
  status: { A: { en: 'Normal (A)', zh: '正常（A）' } },
  sex: { male: { en: 'Male', zh: '男' }, female: { en: 'Female', zh: '女' } },
};
