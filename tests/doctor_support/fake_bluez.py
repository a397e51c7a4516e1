"""A stand-in for bluetoothd on a private system bus, for tests/cli_doctor.rs: it owns
org.bluez and answers ObjectManager.GetManagedObjects with the adapters and devices the test
describes (JSON in argv[1]), then prints "ready". The bus is DBUS_SYSTEM_BUS_ADDRESS."""

import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib


def objects(spec):
    found = {}
    for adapter in spec.get("adapters", []):
        found[dbus.ObjectPath("/org/bluez/" + adapter["name"])] = {
            "org.bluez.Adapter1": {
                "Address": dbus.String(adapter["address"]),
                "Powered": dbus.Boolean(adapter["powered"]),
            }
        }
    for device in spec.get("devices", []):
        adapter = "/org/bluez/" + device["adapter"]
        path = adapter + "/dev_" + device["address"].replace(":", "_")
        found[dbus.ObjectPath(path)] = {
            "org.bluez.Device1": {
                "Address": dbus.String(device["address"]),
                "Alias": dbus.String(device["alias"]),
                "Adapter": dbus.ObjectPath(adapter),
                "Paired": dbus.Boolean(device["paired"]),
                "Trusted": dbus.Boolean(device["trusted"]),
            }
        }
    return found


class Root(dbus.service.Object):
    def __init__(self, bus, managed):
        super().__init__(bus, "/")
        self.managed = managed

    @dbus.service.method(
        "org.freedesktop.DBus.ObjectManager", in_signature="", out_signature="a{oa{sa{sv}}}"
    )
    def GetManagedObjects(self):
        return self.managed


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    root = Root(bus, objects(json.loads(sys.argv[1])))
    # do_not_queue: fail rather than wait behind another owner.
    name = dbus.service.BusName("org.bluez", bus, do_not_queue=True)
    print("ready", flush=True)
    GLib.MainLoop().run()
    del root, name


if __name__ == "__main__":
    main()
