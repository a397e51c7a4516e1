//! What a device sent of a slow sync, and what it holds that it did not send.

use super::super::super::error::StorageResult as Result;
use super::super::super::records::DeviceItem;
use super::super::super::types::{Datastore, DeviceId};
use super::State;

impl State {
    pub(in super::super) fn record_luid_sent(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<()> {
        let copy = self.copy_mut(device, datastore)?;
        copy.luids_sent.insert(luid.to_string());
        Ok(())
    }

    pub(in super::super) fn luid_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<bool> {
        Ok(self.copy(device, datastore)?.luids_sent.contains(luid))
    }

    pub(in super::super) fn clear_luids_sent(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<()> {
        self.copy_mut(device, datastore)?.luids_sent.clear();
        Ok(())
    }

    pub(in super::super) fn held_items_not_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Vec<DeviceItem>> {
        let copy = self.copy(device, datastore)?;
        copy.held
            .iter()
            .filter(|(_, held)| {
                held.luid
                    .as_ref()
                    .is_some_and(|luid| !copy.luids_sent.contains(luid))
            })
            .map(|(guid, held)| self.device_item(*guid, held))
            .collect()
    }
}
