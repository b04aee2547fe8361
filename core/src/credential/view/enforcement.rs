//! The enforcement view: both pages in full, for police.

use crate::codec::{DecodeError, Reader, Writer};
use crate::licence::{Licence, MainPage, PointsCycle, RecordEntry, Sex, SupplementaryPage};

use super::super::{CredentialError, ElicenceId};
use super::ViewHeader;
use super::fields::{datetime, read_classes, read_status, write_classes, write_status};

/// Everything on the main and supplementary pages, as of `header.issued_at`. The main
/// page's generation time is the issue time and is not encoded twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcementView {
    /// Issuer key, device key and times.
    pub header: ViewHeader,
    /// The e-licence id (what online checks name).
    pub id: ElicenceId,
    /// Both pages.
    pub licence: Licence,
}

const MAX_RECORD_ENTRIES: usize = 255;

fn sex_code(sex: Sex) -> u8 {
    // GB/T 2261.1 codes.
    match sex {
        Sex::Male => 1,
        Sex::Female => 2,
    }
}

impl EnforcementView {
    /// The canonical body bytes (what the issuer signs).
    pub fn encode(&self) -> Result<Vec<u8>, CredentialError> {
        let m = &self.licence.main;
        let s = &self.licence.supplementary;
        let mut w = Writer::with_capacity(512);
        self.header.encode(&mut w);
        w.u64(self.id.0);
        w.str8("licence_number", &m.licence_number)?;
        w.str8("name", &m.name)?;
        w.u8(sex_code(m.sex));
        w.str8("nationality", &m.nationality)?;
        w.date("date_of_birth", m.date_of_birth)?;
        write_classes(&mut w, m.classes);
        w.date("first_issue", m.first_issue)?;
        w.date("valid_from", m.valid_from)?;
        w.date("valid_until", m.valid_until)?;
        write_status(&mut w, &m.status)?;
        w.raw(&m.photo_digest);
        w.str8("address", &s.address)?;
        w.str8("issuing_authority", &s.issuing_authority)?;
        w.date("cycle_start", s.cycle.start)?;
        w.date("cycle_end", s.cycle.end)?;
        w.u8(s.cycle.points);
        if s.record.len() > MAX_RECORD_ENTRIES {
            return Err(crate::codec::EncodeError::TooLong("record").into());
        }
        w.u8(s.record.len() as u8);
        for e in &s.record {
            w.date("record.date", e.date)?;
            w.str8("record.place", &e.place)?;
            w.str8("record.act", &e.act)?;
            w.u8(e.points).u32(e.fine_yuan).u8(u8::from(e.handled));
        }
        Ok(w.into_bytes())
    }

    /// Decodes body bytes; every byte must be consumed.
    pub fn decode(body: &[u8]) -> Result<Self, CredentialError> {
        let mut r = Reader::new(body);
        let header = ViewHeader::decode(&mut r)?;
        let id = ElicenceId(r.u64("id")?);
        let licence_number = r.str8("licence_number")?.to_owned();
        let name = r.str8("name")?.to_owned();
        let sex = match r.u8("sex")? {
            1 => Sex::Male,
            2 => Sex::Female,
            _ => return Err(DecodeError::BadValue("sex").into()),
        };
        let nationality = r.str8("nationality")?.to_owned();
        let date_of_birth = r.date("date_of_birth")?;
        let classes = read_classes(&mut r)?;
        let first_issue = r.date("first_issue")?;
        let valid_from = r.date("valid_from")?;
        let valid_until = r.date("valid_until")?;
        let status = read_status(&mut r)?;
        let photo_digest = r.array("photo_digest")?;
        let address = r.str8("address")?.to_owned();
        let issuing_authority = r.str8("issuing_authority")?.to_owned();
        let cycle = PointsCycle {
            start: r.date("cycle_start")?,
            end: r.date("cycle_end")?,
            points: r.u8("cycle_points")?,
        };
        let count = r.u8("record_count")?;
        let mut record = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            record.push(RecordEntry {
                date: r.date("record.date")?,
                place: r.str8("record.place")?.to_owned(),
                act: r.str8("record.act")?.to_owned(),
                points: r.u8("record.points")?,
                fine_yuan: r.u32("record.fine")?,
                handled: match r.u8("record.handled")? {
                    0 => false,
                    1 => true,
                    _ => return Err(DecodeError::BadValue("record.handled").into()),
                },
            });
        }
        r.finish()?;
        let licence = Licence {
            main: MainPage {
                licence_number,
                name,
                sex,
                nationality,
                date_of_birth,
                classes,
                first_issue,
                valid_from,
                valid_until,
                status,
                photo_digest,
                generated_at: datetime(header.issued_at),
            },
            supplementary: SupplementaryPage {
                address,
                issuing_authority,
                record,
                cycle,
            },
        };
        licence
            .validate()
            .map_err(|_| CredentialError::InvalidField("licence"))?;
        Ok(EnforcementView {
            header,
            id,
            licence,
        })
    }
}
