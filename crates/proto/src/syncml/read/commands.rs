//! The SyncML commands, nested up to [`MAX_COMMAND_NESTING`] deep.

use super::{Ctx, Result, MAX_COMMAND_NESTING};
use crate::markup::{EventReader, StartTag};
use crate::syncml::model::{
    Alert, Command, Container, Delete, Exec, Extensions, GetPut, ItemCommand, Map, MapItem,
    Results, Search, Status, Sync,
};
use crate::syncml::status::{AlertCode, StatusCode};

impl<'r, 'a, R: EventReader<'a>> Ctx<'r, 'a, R> {
    /// Reads a command if `tag` names one; `None` leaves the element to the caller.
    pub(super) fn read_command(&mut self, tag: &StartTag<'_>) -> Result<Option<Command>> {
        if self.command_depth >= MAX_COMMAND_NESTING && is_command(&tag.name) {
            return Err(self.error(format!(
                "commands nested more than {MAX_COMMAND_NESTING} deep"
            )));
        }
        self.command_depth += 1;
        let command = self.read_command_body(tag);
        self.command_depth -= 1;
        command
    }

    fn read_command_body(&mut self, tag: &StartTag<'_>) -> Result<Option<Command>> {
        Ok(Some(match tag.name.as_ref() {
            "Add" => Command::Add(self.read_item_command()?),
            "Copy" => Command::Copy(self.read_item_command()?),
            "Move" => Command::Move(self.read_item_command()?),
            "Replace" => Command::Replace(self.read_item_command()?),
            "Delete" => Command::Delete(self.read_delete()?),
            "Get" => Command::Get(self.read_get_put()?),
            "Put" => Command::Put(self.read_get_put()?),
            "Alert" => Command::Alert(self.read_alert()?),
            "Atomic" => Command::Atomic(self.read_container()?),
            "Sequence" => Command::Sequence(self.read_container()?),
            "Exec" => Command::Exec(Box::new(self.read_exec()?)),
            "Map" => Command::Map(Box::new(self.read_map()?)),
            "Results" => Command::Results(Box::new(self.read_results()?)),
            "Search" => Command::Search(Box::new(self.read_search()?)),
            "Status" => Command::Status(self.read_status()?),
            "Sync" => Command::Sync(Box::new(self.read_sync()?)),
            _ => return Ok(None),
        }))
    }

    fn read_item_command(&mut self) -> Result<ItemCommand> {
        self.read_item_command_and(|_, _| Ok(false))
    }

    /// The children of `Add`, `Copy`, `Move` and `Replace`, which `Delete`, `Get` and `Put`
    /// also hold; `own` reads (and returns true for) the children a command adds to them.
    fn read_item_command_and(
        &mut self,
        mut own: impl FnMut(&mut Self, &StartTag<'a>) -> Result<bool>,
    ) -> Result<ItemCommand> {
        let mut c = ItemCommand::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return own(ctx, tag),
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_delete(&mut self) -> Result<Delete> {
        let (mut archive, mut sft_del) = (false, false);
        let c = self.read_item_command_and(|ctx, tag| {
            match tag.name.as_ref() {
                "Archive" if !archive => archive = ctx.flag()?,
                "SftDel" if !sft_del => sft_del = ctx.flag()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Delete {
            cmd_id: c.cmd_id,
            no_resp: c.no_resp,
            archive,
            sft_del,
            cred: c.cred,
            meta: c.meta,
            items: c.items,
            extensions: c.extensions,
        })
    }

    fn read_get_put(&mut self) -> Result<GetPut> {
        let mut lang = None;
        let c = self.read_item_command_and(|ctx, tag| {
            if tag.name == "Lang" && lang.is_none() {
                lang = Some(ctx.short()?);
                return Ok(true);
            }
            Ok(false)
        })?;
        Ok(GetPut {
            cmd_id: c.cmd_id,
            no_resp: c.no_resp,
            lang,
            cred: c.cred,
            meta: c.meta,
            items: c.items,
            extensions: c.extensions,
        })
    }

    fn read_alert(&mut self) -> Result<Alert> {
        let mut c = Alert::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Data" if c.data.is_none() => c.data = Some(AlertCode::from_code(ctx.number()?)),
                "Correlator" if c.correlator.is_none() => c.correlator = Some(ctx.short()?),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_container(&mut self) -> Result<Container> {
        let mut c = Container::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                _ => match ctx.read_command(tag)? {
                    Some(command) => c.commands.push(command),
                    None => return Ok(false),
                },
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_exec(&mut self) -> Result<Exec> {
        let (mut cmd_id, mut no_resp, mut cred, mut meta) = (None, false, None, None);
        let (mut correlator, mut item) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "NoResp" if !no_resp => no_resp = ctx.flag()?,
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Meta" if meta.is_none() => meta = Some(Box::new(ctx.read_metinf()?)),
                "Correlator" if correlator.is_none() => correlator = Some(ctx.short()?),
                "Item" if item.is_none() => item = Some(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Exec {
            cmd_id,
            no_resp,
            cred,
            meta,
            correlator,
            item: self.required(item, "Item")?,
            extensions,
        })
    }

    fn read_map(&mut self) -> Result<Map> {
        let (mut cmd_id, mut target, mut source, mut cred, mut meta) =
            (None, None, None, None, None);
        let mut map_items = Vec::new();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "Target" if target.is_none() => target = Some(ctx.read_target()?),
                "Source" if source.is_none() => source = Some(ctx.read_source()?),
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Meta" if meta.is_none() => meta = Some(Box::new(ctx.read_metinf()?)),
                "MapItem" => map_items.push(ctx.read_map_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Map {
            cmd_id,
            target: self.required(target, "Target")?,
            source: self.required(source, "Source")?,
            cred,
            meta,
            map_items,
            extensions,
        })
    }

    fn read_map_item(&mut self) -> Result<MapItem> {
        let (mut target, mut source) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Target" if target.is_none() => target = Some(ctx.read_target()?),
                "Source" if source.is_none() => source = Some(ctx.read_source()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(MapItem {
            target: self.required(target, "Target")?,
            source: self.required(source, "Source")?,
            extensions,
        })
    }

    fn read_results(&mut self) -> Result<Results> {
        let mut c = Results::default();
        let mut cmd_ref = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "MsgRef" if c.msg_ref.is_none() => c.msg_ref = Some(ctx.number()?),
                "CmdRef" if cmd_ref.is_none() => cmd_ref = Some(ctx.short()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "TargetRef" => c.target_refs.push(ctx.short()?),
                "SourceRef" => c.source_refs.push(ctx.short()?),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.cmd_ref = cmd_ref;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_search(&mut self) -> Result<Search> {
        let (mut cmd_id, mut no_resp, mut no_results, mut cred) = (None, false, false, None);
        let (mut target, mut sources, mut lang, mut meta, mut data) =
            (None, Vec::new(), None, None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "NoResp" if !no_resp => no_resp = ctx.flag()?,
                "NoResults" if !no_results => no_results = ctx.flag()?,
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Target" if target.is_none() => target = Some(ctx.read_target()?),
                "Source" => sources.push(ctx.read_source()?),
                "Lang" if lang.is_none() => lang = Some(ctx.short()?),
                "Meta" if meta.is_none() => meta = Some(ctx.read_metinf()?),
                "Data" if data.is_none() => data = Some(ctx.read_data()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Search {
            cmd_id,
            no_resp,
            no_results,
            cred,
            target,
            sources,
            lang,
            meta: self.required(meta, "Meta")?,
            data: self.required(data, "Data")?,
            extensions,
        })
    }

    fn read_status(&mut self) -> Result<Status> {
        let (mut cmd_id, mut msg_ref, mut cmd_ref, mut cmd) = (None, None, None, None);
        let (mut target_refs, mut source_refs) = (Vec::new(), Vec::new());
        let (mut cred, mut chal, mut data, mut items) = (None, None, None, Vec::new());
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "MsgRef" if msg_ref.is_none() => msg_ref = Some(ctx.number()?),
                "CmdRef" if cmd_ref.is_none() => cmd_ref = Some(ctx.short()?),
                "Cmd" if cmd.is_none() => cmd = Some(ctx.short()?),
                "TargetRef" => target_refs.push(ctx.short()?),
                "SourceRef" => source_refs.push(ctx.short()?),
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Chal" if chal.is_none() => chal = Some(ctx.read_chal()?),
                "Data" if data.is_none() => data = Some(StatusCode::from_code(ctx.number()?)),
                "Item" => items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Status {
            cmd_id,
            msg_ref: self.required(msg_ref, "MsgRef")?,
            cmd_ref: self.required(cmd_ref, "CmdRef")?,
            cmd: self.required(cmd, "Cmd")?,
            target_refs,
            source_refs,
            cred,
            chal,
            data: self.required(data, "Data")?,
            items,
            extensions,
        })
    }

    fn read_sync(&mut self) -> Result<Sync> {
        let mut c = Sync::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Target" if c.target.is_none() => c.target = Some(ctx.read_target()?),
                "Source" if c.source.is_none() => c.source = Some(ctx.read_source()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "NumberOfChanges" if c.number_of_changes.is_none() => {
                    c.number_of_changes = Some(ctx.number()?)
                }
                _ => match ctx.read_command(tag)? {
                    Some(command) => c.commands.push(command),
                    None => return Ok(false),
                },
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }
}

fn is_command(name: &str) -> bool {
    matches!(
        name,
        "Add"
            | "Copy"
            | "Move"
            | "Replace"
            | "Delete"
            | "Get"
            | "Put"
            | "Alert"
            | "Atomic"
            | "Sequence"
            | "Exec"
            | "Map"
            | "Results"
            | "Search"
            | "Status"
            | "Sync"
    )
}
